"""`/v1/templates`: the templates a render may name, with their parameters as JSON Schema."""

from __future__ import annotations

from fastapi import APIRouter

from neuroshorts import templates
from neuroshorts.apps.service import catalog
from neuroshorts.apps.service.schemas import TemplateSummary
from neuroshorts.errors import ApiError, TemplateError

router = APIRouter(tags=["templates"])


@router.get("/v1/templates")
def list_templates() -> list[TemplateSummary]:
    """Every template with the JSON Schema of its parameters."""
    return [
        TemplateSummary(
            name=t.name, description=t.description, parameters=catalog.json_schema(t.name)
        )
        for t in templates.list_templates()
    ]


@router.get("/v1/templates/{name}")
def get_template(name: str) -> TemplateSummary:
    try:
        path, _ = catalog.schema(name)
        description = next(
            (t.description for t in templates.list_templates() if t.path == path), ""
        )
        return TemplateSummary(
            name=path.stem, description=description, parameters=catalog.json_schema(name)
        )
    except TemplateError as error:
        raise ApiError(404, str(error), "name", name) from None
