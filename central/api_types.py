"""Parameter types shared by central's HTTP routes, so every id is bounded the same way everywhere."""

from typing import Annotated

from fastapi import Path, Query

from kiosk.protocol import MAX_ID

VisitPath = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalIdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
