"""Thin adapter over ``label_studio_sdk`` with the calls feedback-loop needs and a small error hierarchy.

Errors: :class:`LabelStudioUnreachable` is transient (connection refused, timeout, 5xx, 429): retry later.
:class:`LabelStudioRejected` is permanent for the same request (4xx: bad config, bad token, missing project):
retrying will not help. Both derive from :class:`LabelStudioError`.

Tokens: a legacy token (``Token`` header) or a personal access token (a JWT refresh token, which the SDK
exchanges for access tokens itself); :attr:`LabelStudioClient.token_kind` tells which one was given.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from feedback.services.labelstudio_errors import (
    LabelStudioAuthError,
    LabelStudioError,
    LabelStudioNotFound,
    LabelStudioRejected,
    LabelStudioUnreachable,
    translate_errors,
)
from feedback.services.labelstudio_templates import ITEM_ID_FIELD, TemplateError, render_label_config

__all__ = [
    "LabelStudioAuthError", "LabelStudioClient", "LabelStudioError", "LabelStudioNotFound",
    "LabelStudioRejected", "LabelStudioUnreachable", "SECRET_HEADER", "WEBHOOK_ACTIONS",
]

SECRET_HEADER = "X-Feedback-Loop-Secret"
WEBHOOK_ACTIONS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED")
LOOKUP_CHUNK = 500


def _filters(*items: dict[str, Any]) -> dict[str, Any]:
    return {"conjunction": "and", "items": list(items)}


def _item_filter(item_ids: Sequence[str]) -> dict[str, Any]:
    return {"filter": f"filter:tasks:data.{ITEM_ID_FIELD}", "operator": "in_list", "type": "List",
            "value": list(item_ids)}


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump(mode="json") if hasattr(obj, "model_dump") else dict(obj)


def preload_sdk() -> None:
    """Import the SDK and its lazily loaded API modules now (about 2 s); a worker calls this before forking so
    each job does not pay it again."""
    from label_studio_sdk import LabelStudio  # heavy import, kept out of module import time

    client = LabelStudio(base_url="http://127.0.0.1:9", api_key="preload-only")
    for area in ("projects", "tasks", "annotations", "predictions", "webhooks", "users"):
        getattr(client, area)


class LabelStudioClient:
    """One Label Studio connection (URL + token); every method raises only :class:`LabelStudioError`."""

    def __init__(self, url: str, token: str, *, timeout: float = 30.0, max_retries: int = 0) -> None:
        from label_studio_sdk import LabelStudio  # heavy import, kept out of module import time

        self.url = url.rstrip("/")
        with translate_errors("connect"):
            self._ls = LabelStudio(base_url=self.url, api_key=token, timeout=timeout)
        self._ls._client_wrapper.httpx_client.base_max_retries = max_retries

    @property
    def token_kind(self) -> str:
        """``"legacy"`` for an organisation API token, ``"personal_access_token"`` for a JWT."""
        legacy = self._ls._client_wrapper._tokens_client._use_legacy_token
        return "legacy" if legacy else "personal_access_token"

    def whoami(self) -> dict[str, Any]:
        """Return the authenticated user (checks URL and token)."""
        with translate_errors("whoami"):
            return _dump(self._ls.users.whoami())

    def create_personal_access_token(self) -> str:
        """Create a personal access token (JWT refresh token) for the authenticated user and return it."""
        with translate_errors("create personal access token"):
            return str(self._ls.tokens.create().token)

    def validate_label_config(self, label_config: str) -> None:
        """Ask Label Studio whether ``label_config`` is a valid labelling config; raise Rejected if not."""
        with translate_errors("validate label config"):
            response = self._ls._client_wrapper.httpx_client.request(
                "api/projects/validate/", method="POST", json={"label_config": label_config}
            )
        if response.status_code >= 400:
            with translate_errors("validate label config"):
                from label_studio_sdk.core.api_error import ApiError

                raise ApiError(status_code=response.status_code, body=_body(response))

    def create_project(
        self,
        title: str,
        *,
        template: str = "response_review",
        reasons: Iterable[Any] | None = None,
        label_config: str | None = None,
        description: str = "",
    ) -> int:
        """Create a project from a built-in template (or validated custom XML); return its id."""
        if template == "custom":
            if not label_config:
                raise LabelStudioRejected("a custom template needs label_config XML", status_code=None)
            self.validate_label_config(label_config)
            xml = label_config
        else:
            try:
                xml = render_label_config(template, reasons)
            except TemplateError as exc:
                raise LabelStudioRejected(str(exc), status_code=None) from exc
        with translate_errors("create project"):
            project = self._ls.projects.create(title=title, label_config=xml, description=description)
        return int(project.id)

    def get_project(self, project_id: int) -> dict[str, Any]:
        """Return a project's settings (title, label_config, counts)."""
        with translate_errors("get project"):
            return _dump(self._ls.projects.get(id=project_id))

    def delete_project(self, project_id: int) -> None:
        """Delete a project and all its tasks."""
        with translate_errors("delete project"):
            self._ls.projects.delete(id=project_id)

    def import_tasks(
        self, project_id: int, tasks: Sequence[dict[str, Any]], *, batch_size: int = 1000
    ) -> list[int]:
        """Import tasks (with predictions) in bulk batches; return the new task ids in input order."""
        ids: list[int] = []
        for start in range(0, len(tasks), batch_size):
            chunk = list(tasks[start:start + batch_size])
            with translate_errors("import tasks"):
                response = self._ls.projects.import_tasks(id=project_id, request=chunk, return_task_ids=True)
            ids.extend(int(task_id) for task_id in (response.task_ids or []))
        return ids

    def existing_items(self, project_id: int, item_ids: Iterable[int | str]) -> dict[str, int]:
        """Map each of our item ids that already exists as a task in the project to its task id (bulk)."""
        wanted = sorted({str(item_id) for item_id in item_ids})
        found: dict[str, int] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            query = json.dumps({"filters": _filters(_item_filter(wanted[start:start + LOOKUP_CHUNK]))})
            with translate_errors("look up tasks"):
                for task in self._ls.tasks.list(project=project_id, query=query, fields="task_only",
                                                include="id,data", page_size=LOOKUP_CHUNK):
                    found.setdefault(str((task.data or {}).get(ITEM_ID_FIELD)), int(task.id))
        return found

    def update_task_data(self, task_id: int, data: dict[str, Any]) -> None:
        """Replace a task's data (its annotations stay)."""
        with translate_errors("update task"):
            self._ls.tasks.update(id=str(task_id), data=data)

    def delete_items(self, project_id: int, item_ids: Iterable[int | str]) -> int:
        """Delete the tasks carrying these item ids; return how many tasks were deleted."""
        task_ids = sorted(self.existing_items(project_id, item_ids).values())
        if task_ids:
            with translate_errors("delete tasks"):
                self._ls.actions.create(id="delete_tasks", project=project_id,
                                        selected_items={"all": False, "included": task_ids})
        return len(task_ids)

    def register_webhook(
        self, project_id: int, url: str, *, secret: str, header: str = SECRET_HEADER,
        actions: Sequence[str] = WEBHOOK_ACTIONS,
    ) -> int:
        """Register a project webhook that sends full payloads with our secret header; return its id."""
        with translate_errors("register webhook"):
            hook = self._ls.webhooks.create(
                url=url, project=project_id, send_payload=True, send_for_all_actions=False,
                actions=list(actions), headers={header: secret}, is_active=True,
            )
        return int(hook.id)

    def list_webhooks(self, project_id: int) -> list[dict[str, Any]]:
        """Return the project's webhooks (url, actions, is_active, headers)."""
        with translate_errors("list webhooks"):
            return [_dump(hook) for hook in self._ls.webhooks.list(project=str(project_id))]

    def set_webhook_active(self, webhook_id: int, active: bool) -> None:
        """Enable or disable a webhook without deleting it."""
        with translate_errors("update webhook"):
            self._ls.webhooks.update(webhook_id, is_active=active)

    def delete_webhook(self, webhook_id: int) -> None:
        """Delete a webhook."""
        with translate_errors("delete webhook"):
            self._ls.webhooks.delete(id=webhook_id)

    def iter_annotated_tasks(
        self, project_id: int, *, updated_since: datetime | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Yield annotated tasks (id, data, annotations[]) for reconciliation, optionally only recent ones."""
        items = [{"filter": "filter:tasks:total_annotations", "operator": "greater", "type": "Number",
                  "value": 0}]
        if updated_since is not None:
            items.append({"filter": "filter:tasks:updated_at", "operator": "greater", "type": "Datetime",
                          "value": updated_since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
        query = json.dumps({"filters": _filters(*items), "ordering": ["tasks:id"]})
        with translate_errors("list annotated tasks"):
            for task in self._ls.tasks.list(project=project_id, query=query, fields="all",
                                            page_size=page_size):
                yield _dump(task)

    def list_annotations(self, task_id: int) -> list[dict[str, Any]]:
        """Return every annotation of one task."""
        with translate_errors("list annotations"):
            return [_dump(annotation) for annotation in self._ls.annotations.list(id=task_id)]

    def create_user(self, email: str, *, username: str | None = None) -> int:
        """Create an annotator account (used by the demo and tests); return the user id."""
        with translate_errors("create user"):
            user = self._ls.users.create(email=email, username=username or email.split("@")[0])
        return int(user.id)

    def create_annotation(
        self, task_id: int, result: list[dict[str, Any]], *, lead_time: float | None = None,
        completed_by: int | None = None,
    ) -> dict[str, Any]:
        """Submit an annotation on a task as an annotator would; return it."""
        optional = {"lead_time": lead_time, "completed_by": completed_by}
        extra = {key: value for key, value in optional.items() if value is not None}
        with translate_errors("create annotation"):
            annotation = self._ls.annotations.create(id=task_id, result=result, **extra)
        return _dump(annotation)


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:500]
