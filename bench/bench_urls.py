"""The portal's URLs plus the baselines the attachment benchmark compares against.

Never part of the portal: plain (unencrypted) FileSystemStorage upload + FileResponse download
with Django's default upload handlers, the same with the raw request body copied to a file, and
whole-file Fernet, the approach of Django
encrypted-file packages.
"""

from __future__ import annotations

import secrets

from cryptography.fernet import Fernet
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.http import FileResponse, HttpResponse, JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

FERNET = Fernet(Fernet.generate_key())


def _storage(kind: str) -> FileSystemStorage:
    return FileSystemStorage(location=settings.MEDIA_ROOT / kind)


@csrf_exempt
@login_required
def plain_upload(request):
    name = _storage("plain").save(secrets.token_hex(16), request.FILES["file"])
    return JsonResponse({"name": name}, status=201)


@csrf_exempt
@login_required
def plain_raw_upload(request):
    """The raw-body baseline: the request body copied to a file a megabyte at a time."""
    name = secrets.token_hex(16)
    folder = settings.MEDIA_ROOT / "plain"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / name, "wb") as out:
        while chunk := request.read(1024 * 1024):
            out.write(chunk)
    return JsonResponse({"name": name}, status=201)


@login_required
def plain_download(request, name):
    return FileResponse(_storage("plain").open(name, "rb"), as_attachment=True, filename="file.bin")


@csrf_exempt
@login_required
def fernet_upload(request):
    token = FERNET.encrypt(request.FILES["file"].read())
    name = _storage("fernet").save(secrets.token_hex(16), ContentFile(token))
    return JsonResponse({"name": name}, status=201)


@login_required
def fernet_download(request, name):
    with _storage("fernet").open(name, "rb") as fh:
        data = FERNET.decrypt(fh.read())
    return HttpResponse(data, content_type="application/octet-stream")


urlpatterns = [
    path("bench/plain/", plain_upload),
    path("bench/plain-raw/", plain_raw_upload),
    path("bench/plain/<str:name>", plain_download),
    path("bench/fernet/", fernet_upload),
    path("bench/fernet/<str:name>", fernet_download),
    path("", include("portal.urls")),
]
