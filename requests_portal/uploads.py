"""Uploads of the public forms, held in memory and never beyond the limit.

Django would write a large upload to a temporary file before any view sees it. The public forms
replace the request's upload handlers (before the CSRF check reads the body, as Django's
documentation shows) with this one: it keeps at most `limit + 1` bytes of each expected file, in
memory, and skips every other file part. The form then sees a file one byte over the limit and
says it is too large; nothing of it touches the disk.
"""

from __future__ import annotations

from io import BytesIO

from django.core.files.uploadedfile import InMemoryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, SkipFile


class CappedUploadHandler(FileUploadHandler):
    def __init__(self, request=None, *, fields: list[str], limit: int):
        super().__init__(request)
        self.fields = frozenset(fields)
        self.limit = limit
        self.buffer: BytesIO | None = None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        if field_name not in self.fields:
            raise SkipFile
        self.buffer = BytesIO()

    def receive_data_chunk(self, raw_data, start):
        room = self.limit + 1 - self.buffer.tell()
        if room > 0:
            self.buffer.write(raw_data[:room])
        return None  # consumed: no handler after this one sees the data

    def file_complete(self, file_size):
        size = self.buffer.tell()
        self.buffer.seek(0)
        return InMemoryUploadedFile(
            file=self.buffer, field_name=self.field_name, name=self.file_name, content_type=self.content_type,
            size=size, charset=self.charset, content_type_extra=self.content_type_extra,
        )


def cap_uploads(request, *, fields: list[str], limit: int) -> None:
    """Call before anything reads request.POST or request.FILES."""
    request.upload_handlers = [CappedUploadHandler(request, fields=fields, limit=limit)]
