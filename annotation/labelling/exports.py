"""A table of rows as a CSV or JSON download: the set pages and the export API share it."""

import io
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from base.csv_cells import csv_dict_writer


def export_table(
    rows: list[dict], columns: tuple[str, ...], fmt: str, filename: str
) -> HttpResponse:
    if fmt == "json":
        body = json.dumps([{c: row.get(c) for c in columns} for row in rows], cls=DjangoJSONEncoder)
        response = HttpResponse(body, content_type="application/json")
    else:
        buffer = io.StringIO()
        writer = csv_dict_writer(buffer, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response
