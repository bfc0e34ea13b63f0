"""A small HTTP/1.1 keep-alive client: the load generator must cost far less than the server it
measures (httpx costs about as much per request as the service's cheapest route)."""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import urlsplit


class Connection:
    """One keep-alive connection; `request` sends one request and reads its whole answer."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if self.tls else 80)
        self.prefix = parts.path.rstrip("/")
        host = f"{self.host}:{self.port}" if parts.port else self.host
        self.common = "".join(f"{k}: {v}\r\n" for k, v in {"Host": host, **headers}.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        context = ssl.create_default_context() if self.tls else None
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port, ssl=context)

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            await self._open()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        if body:
            extra += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self.common}{extra}\r\n"
        try:
            self.writer.write(head.encode() + body)
            return await self._answer()
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            raise

    async def _answer(self) -> tuple[int, bytes]:
        reader = self.reader
        status = int((await reader.readuntil(b"\r\n")).split(b" ", 2)[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                close = b"close" in value.lower()
        if chunked:
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.reader = None
