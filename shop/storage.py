"""One storage layer for every file the shop keeps: public media (product photos,
banners), private certificate documents and uploaded stock imports.

`STORAGE_BACKEND=local` (the default) keeps them in folders on this machine
(MEDIA_DIR, CERTIFICATE_DIR, STOCK_IMPORT_DIR); `STORAGE_BACKEND=s3` keeps them in
one bucket of any S3-compatible store (S3_BUCKET, S3_ENDPOINT_URL, ...), under
`media/`, `certificates/` and `stock-imports/`, so that no node's disk holds
anything another node or a worker needs. Public media may be served from a CDN
(MEDIA_URL_BASE); private files only through the app's access checks, which may
answer with a presigned URL that lives a few minutes.

Every call that reaches the store raises StorageError with a message saying what
is wrong (no bucket, refused credentials, store down) rather than a driver error."""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from flask import Flask, current_app

MEDIA = "media"  # public: anyone may fetch a photo by its (random) name
CERTIFICATES = "certificates"  # private: operators only, through the console
IMPORTS = "stock-imports"  # private: the producer's own CSV files, read by the worker
AREAS = (MEDIA, CERTIFICATES, IMPORTS)


class StorageError(RuntimeError):
    """The store cannot be used (misconfigured or unreachable); the message says why."""


class StoredFileMissing(StorageError):
    """The store answered, but holds no file under that name."""


class Storage(Protocol):
    name: str

    def put(self, area: str, key: str, data: bytes, content_type: str | None = None) -> None: ...
    def get(self, area: str, key: str) -> bytes: ...
    def delete(self, area: str, key: str) -> None: ...
    def exists(self, area: str, key: str) -> bool: ...
    def keys(self, area: str) -> Iterator[str]: ...
    def signed_url(self, area: str, key: str, seconds: int) -> str | None: ...
    def local_path(self, area: str, key: str) -> Path | None: ...
    def check(self) -> None: ...


def _safe_key(key: str) -> str:
    parts = key.replace("\\", "/").split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise StoredFileMissing(f"not a stored file name: {key!r}")
    return "/".join(parts)


def content_type_of(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


class LocalStorage:
    """Folders on this machine: zero set-up, one node only."""

    name = "local"

    def __init__(self, config):
        self.config = config  # read on each call: the folders follow the app's settings

    @property
    def roots(self) -> dict[str, Path]:
        config = self.config
        instance = Path(config["INSTANCE_DIR"])
        return {
            MEDIA: Path(config.get("MEDIA_DIR") or instance / "media"),
            CERTIFICATES: Path(config.get("CERTIFICATE_DIR") or instance / "certificates"),
            IMPORTS: Path(config.get("STOCK_IMPORT_DIR") or instance / "stock-imports"),
        }

    def _path(self, area: str, key: str) -> Path:
        root = self.roots[area].resolve()
        path = (root / _safe_key(key)).resolve()
        if not path.is_relative_to(root):
            raise StoredFileMissing(f"not a stored file name: {key!r}")
        return path

    def put(self, area: str, key: str, data: bytes, content_type: str | None = None) -> None:
        path = self._path(area, key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)  # readers never see half a file
        except OSError as exc:
            raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def get(self, area: str, key: str) -> bytes:
        path = self._path(area, key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(f"no file {key!r} in {area}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc

    def delete(self, area: str, key: str) -> None:
        try:
            self._path(area, key).unlink(missing_ok=True)
        except StoredFileMissing:
            return
        except OSError as exc:
            raise StorageError(f"cannot remove {key!r} from {area}: {exc.strerror or exc}") from exc

    def exists(self, area: str, key: str) -> bool:
        try:
            return self._path(area, key).is_file()
        except StoredFileMissing:
            return False

    def keys(self, area: str) -> Iterator[str]:
        root = self.roots[area]
        if not root.is_dir():
            return
        for path in sorted(root.rglob("*")):
            if path.is_file() and not path.name.endswith(".part"):
                yield path.relative_to(root).as_posix()

    def signed_url(self, area: str, key: str, seconds: int) -> str | None:
        return None  # the app serves local files itself, after its own checks

    def local_path(self, area: str, key: str) -> Path | None:
        path = self._path(area, key)
        return path if path.is_file() else None

    def check(self) -> None:
        for area, root in self.roots.items():
            try:
                root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(f"storage folder for {area} cannot be made: {root}: {exc.strerror}") from exc
            if not os.access(root, os.W_OK):
                raise StorageError(f"storage folder for {area} is not writable: {root}")


class S3Storage:
    """One bucket of an S3-compatible store (AWS S3, MinIO, Garage, Ceph, moto...)."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        addressing_style: str = "auto",
        timeout: float = 5.0,
    ):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        session = boto3.session.Session()
        self.client = session.client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or "us-east-1",
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=BotoConfig(
                connect_timeout=timeout,
                read_timeout=timeout * 4,
                retries={"max_attempts": 2, "mode": "standard"},
                s3={"addressing_style": addressing_style},
                signature_version="s3v4",
            ),
        )

    def _key(self, area: str, key: str) -> str:
        return f"{self.prefix}{area}/{_safe_key(key)}"

    def _explain(self, exc: Exception, what: str) -> StorageError:
        from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

        where = f"bucket {self.bucket!r}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")
        if isinstance(exc, NoCredentialsError):
            return StorageError(f"no credentials for the object store ({where}): set S3_ACCESS_KEY_ID/S3_SECRET_KEY")
        if isinstance(exc, EndpointConnectionError):
            return StorageError(f"the object store does not answer ({where}): {exc}")
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in ("NoSuchKey", "404", "NotFound"):
                return StoredFileMissing(f"no file {what} in {where}")
            if code == "NoSuchBucket":
                return StorageError(f"{where} does not exist")
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "Forbidden"):
                return StorageError(f"the object store refused our credentials for {where} ({code})")
            return StorageError(f"the object store answered {code or 'an error'} for {what} in {where}")
        return StorageError(f"the object store could not be used ({where}): {type(exc).__name__}: {exc}")

    def put(self, area: str, key: str, data: bytes, content_type: str | None = None) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._key(area, key),
                Body=data,
                ContentType=content_type or content_type_of(key),
            )
        except Exception as exc:  # noqa: BLE001 - every driver error becomes one clear StorageError
            raise self._explain(exc, key) from exc

    def get(self, area: str, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(area, key))["Body"].read()
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise self._explain(exc, key) from exc

    def delete(self, area: str, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(area, key))
        except StoredFileMissing:
            return
        except Exception as exc:  # noqa: BLE001
            raise self._explain(exc, key) from exc

    def exists(self, area: str, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(area, key))
            return True
        except StoredFileMissing:
            return False
        except Exception as exc:  # noqa: BLE001
            err = self._explain(exc, key)
            if isinstance(err, StoredFileMissing):
                return False
            raise err from exc

    def keys(self, area: str) -> Iterator[str]:
        start = f"{self.prefix}{area}/"
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", []):
                    yield item["Key"][len(start) :]
        except Exception as exc:  # noqa: BLE001
            raise self._explain(exc, area) from exc

    def signed_url(self, area: str, key: str, seconds: int) -> str | None:
        try:
            return self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": self._key(area, key)}, ExpiresIn=seconds
            )
        except Exception as exc:  # noqa: BLE001
            raise self._explain(exc, key) from exc

    def local_path(self, area: str, key: str) -> Path | None:
        return None

    def check(self) -> None:
        """Reach the bucket with our credentials (a HEAD on the bucket)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:  # noqa: BLE001
            err = self._explain(exc, "(bucket check)")
            if isinstance(err, StoredFileMissing):  # HEAD on a missing bucket answers a bare 404
                err = StorageError(f"bucket {self.bucket!r} does not exist at {self.endpoint_url or 'AWS S3'}")
            raise err from exc


def build_storage(config) -> Storage:
    """The store the configuration names; StorageError when it names none that can be built."""
    backend = (config.get("STORAGE_BACKEND") or "local").strip().lower()
    if backend == "local":
        return LocalStorage(config)
    if backend == "s3":
        if not config.get("S3_BUCKET"):
            raise StorageError("STORAGE_BACKEND=s3 needs S3_BUCKET (and S3_ENDPOINT_URL for a store other than AWS)")
        return S3Storage(
            config["S3_BUCKET"],
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            access_key=config.get("S3_ACCESS_KEY_ID"),
            secret_key=config.get("S3_SECRET_ACCESS_KEY"),
            prefix=config.get("S3_PREFIX") or "",
            addressing_style=config.get("S3_ADDRESSING_STYLE") or "auto",
            timeout=float(config.get("S3_TIMEOUT") or 5),
        )
    raise StorageError(f"STORAGE_BACKEND must be 'local' or 's3', not {backend!r}")


def init_storage(app: Flask) -> None:
    """Build the store at start-up (a misconfiguration stops the app here with its
    reason) and, when STORAGE_CHECK_ON_START is set, reach it once."""
    storage = build_storage(app.config)
    app.extensions["storage"] = storage
    if app.config.get("STORAGE_CHECK_ON_START"):
        storage.check()


def storage() -> Storage:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # current_app is typed as the Flask it proxies
    if "storage" not in app.extensions:
        init_storage(app)
    return app.extensions["storage"]


def media_base_url() -> str:
    """The CDN (or bucket) base that public media are served from, '' for the app itself."""
    return (current_app.config.get("MEDIA_URL_BASE") or "").rstrip("/")


def copy_local_files(target: Storage, source: LocalStorage, overwrite: bool = False) -> dict[str, int]:
    """Copy every file of the local folders into `target` (skipping what it has unless
    `overwrite`); returns counts per area. Safe to run again after an interruption."""
    counts = {}
    for area in AREAS:
        copied = 0
        for key in source.keys(area):
            if not overwrite and target.exists(area, key):
                continue
            target.put(area, key, source.get(area, key), content_type_of(key))
            copied += 1
        counts[area] = copied
    return counts


def local_storage_of(config) -> LocalStorage:
    """The local folders the configuration names, whatever STORAGE_BACKEND says."""
    return LocalStorage(config)
