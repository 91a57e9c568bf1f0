"""Wizard pages. They read and write the database only; every AEP or Stripe call is a task.

One module per part of the wizard; what several of them share is in helpers.
"""

from onboarding.views.account_step import account, account_status, connect, start
from onboarding.views.data_steps import (
    dataset,
    dataset_refresh,
    dataset_status,
    explore,
    explore_status,
    resources,
)
from onboarding.views.drafts_list import drafts, resume, share
from onboarding.views.mapping_editor import (
    mapping_export,
    mapping_import,
    mapping_resource,
    mapping_start,
    mapping_status,
)
from onboarding.views.provisioning_pages import discard, done, progress, progress_status, retry
from onboarding.views.schedule_review import review, schedule, schedule_status

__all__ = [
    "account",
    "account_status",
    "connect",
    "dataset",
    "dataset_refresh",
    "dataset_status",
    "discard",
    "done",
    "drafts",
    "explore",
    "explore_status",
    "mapping_export",
    "mapping_import",
    "mapping_resource",
    "mapping_start",
    "mapping_status",
    "progress",
    "progress_status",
    "resources",
    "resume",
    "retry",
    "review",
    "schedule",
    "schedule_status",
    "share",
    "start",
]
