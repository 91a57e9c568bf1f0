"""Cross-cutting pieces: roles and permissions, encrypted secrets, background job status."""
