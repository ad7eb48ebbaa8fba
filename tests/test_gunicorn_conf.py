"""The gunicorn settings module: loadable by gunicorn, and its worker hook freezes the collector's view."""

from __future__ import annotations

import gc

import pytest
from gunicorn.app.base import Application
from gunicorn.config import Config

from feedback import gunicorn_conf


@pytest.mark.once
def test_gunicorn_loads_the_module_as_serve_names_it():
    application = object.__new__(Application)  # without parsing this process's argv
    application.cfg = Config()
    application.load_config_from_module_name_or_filename("python:feedback.gunicorn_conf")
    assert application.cfg.post_worker_init is gunicorn_conf.post_worker_init


@pytest.mark.once
def test_post_worker_init_freezes_what_exists():
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 10_000  # the app's modules and objects, moved out of collections
    finally:
        gc.unfreeze()
