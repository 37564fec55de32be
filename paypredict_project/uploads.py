"""Size limits enforced while an upload streams in, not after it has all arrived.

Django's own FILE_UPLOAD_MAX_MEMORY_SIZE only decides memory versus temporary file; a
size check in a form runs after the whole body has been received and written to disk. This
handler stops reading as soon as a file field passes its limit and remembers which one, so
the view can say it. Fields before the file (the CSRF token, the kind) are already parsed.

Use it before anything reads request.POST (so the view is csrf_exempt and checks CSRF
itself with csrf_protect on an inner function, as Django's docs describe).
"""

from __future__ import annotations

from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest


class SizeLimitUploadHandler(FileUploadHandler):
    def __init__(self, request: HttpRequest, *, limits: dict[str, int]) -> None:
        super().__init__(request)
        self.limits = limits
        self.too_large: dict[str, int] = {}  # field → its limit, for the error message
        self._limit: int | None = None

    def new_file(self, field_name, *args, **kwargs) -> None:
        super().new_file(field_name, *args, **kwargs)
        self._limit = self.limits.get(field_name)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if self._limit is not None and start + len(raw_data) > self._limit:
            self.too_large[self.field_name] = self._limit
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def limit_uploads(request: HttpRequest, **limits: int) -> SizeLimitUploadHandler:
    handler = SizeLimitUploadHandler(request, limits=limits)
    request.upload_handlers.insert(0, handler)
    return handler
