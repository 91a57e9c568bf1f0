FROM python:3.11-slim
# Which lock to install: runtime (web, worker, beat) or emulators (adds the AEP emulator and the
# Stripe stand-in, for the demo profile). Both are pinned with hashes in requirements/.
ARG LOCK=runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements/ requirements/
# The image's own setuptools is old enough to carry known vulnerabilities.
RUN pip install --no-cache-dir --upgrade pip setuptools \
 && pip install --no-cache-dir --require-hashes -r requirements/${LOCK}.txt
COPY . .
RUN pip install --no-cache-dir --no-deps . \
 && SECRET_KEY=build-only-secret-key-not-used-at-runtime-000000 \
    FIELD_ENCRYPTION_KEY=Egff6j5QvyPRk9RUNQ381atrSywkEyE-mZAqTevzNIc= \
    ALLOWED_HOSTS=build METRICS_TOKEN=build-only python manage.py collectstatic --no-input
RUN useradd --create-home app && mkdir -p /app/var && chown app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3"]
