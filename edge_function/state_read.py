"""The Lambda@Edge function's transport to the routing state: one DynamoDB Query of the ``rotation``
partition, signed with SigV4, over HTTP/1.1 on a kept-alive ``socket`` (TLS through ``ssl``).

``origin_request`` loads this module from beside itself in the read's own thread, so a cold
container compiles and imports none of it (nor ``socket``, ``ssl``, ``hashlib`` or ``hmac``) before
its first request, and that request waits for the read at most its deadline. Every socket
operation is bounded by what is left of the read's own budget (``until``, a ``time.monotonic()``
instant); name resolution is not (no socket timeout reaches it), which is why the read runs beside
the request. Standard library only; valid on Python 3.11 to 3.13; no import-time side effects.
"""

import time

# The state is two small items; an answer past this is not the store's.
MAX_ANSWER_BYTES = 1 << 20
MAX_HEAD_BYTES = 1 << 16


class StateStore:
    """One container's way to its state table: the endpoint of the replica it reads and the one
    kept-alive connection to it (later reads skip the connection and TLS handshakes)."""

    def __init__(self, table, regions, endpoint=None):
        self._table = table
        self._regions = regions
        self._endpoint = endpoint
        self._connection = None  # ((host, secure), socket)
        self._tls = None

    def query(self, partition, region, credentials, wall_time, until):
        """(status, body) of a Query of ``partition`` in the replica of ``region`` (its own when it
        has one, else the first), signed with ``credentials`` at ``wall_time``."""
        home = region if region in self._regions else self._regions[0]
        body = (
            '{"TableName": "' + self._table + '", "KeyConditionExpression": "pk = :pk", '
            '"ExpressionAttributeValues": {":pk": {"S": "' + partition + '"}}}'
        ).encode()
        if self._endpoint:
            secure = self._endpoint.startswith("https://")
            host = self._endpoint.split("://", 1)[1].rstrip("/")
        else:
            secure, host = True, "dynamodb." + home + ".amazonaws.com"
        headers = sign_v4(
            "POST",
            host,
            "/",
            body,
            {
                "content-type": "application/x-amz-json-1.0",
                "x-amz-target": "DynamoDB_20120810.Query",
            },
            home,
            "dynamodb",
            credentials,
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall_time)),
        )
        head = "POST / HTTP/1.1\r\n" + "".join(
            name + ": " + value + "\r\n" for name, value in sorted(headers.items())
        )
        request = (head + "content-length: " + str(len(body)) + "\r\n\r\n").encode() + body
        return self._post((host, secure), request, until)

    def _post(self, where, request, until):
        connection = self._connection
        reused = connection is not None and connection[0] == where
        if connection is None or not reused:
            self.close()
            connection = self._connection = (where, self._open(where, until))
        try:
            status, data, keep = exchange(connection[1], request, until, reused)
        except StoreClosedError:
            # A kept-alive connection the store closed while the container was idle or frozen:
            # once more on a new one.
            self.close()
            connection = self._connection = (where, self._open(where, until))
            status, data, keep = exchange(connection[1], request, until)
        if not keep:
            self.close()
        return status, data

    def _open(self, where, until):
        """A connection to the store, TLS-wrapped when ``secure``."""
        import socket

        host, secure = where
        name, port = _split_host(host, secure)
        # Name resolution: no timeout bounds it here, which is why the read runs beside the
        # request and the request waits for it at most the deadline.
        addresses = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
        failure = None
        for family, kind, protocol, _, address in addresses:
            sock = socket.socket(family, kind, protocol)
            try:
                sock.settimeout(_remaining(until))
                sock.connect(address)
                if secure:
                    # The handshake happens here, bounded by the socket's timeout.
                    sock = self._tls_context().wrap_socket(sock, server_hostname=name)
                return sock
            except OSError as error:
                sock.close()
                failure = error
        raise failure or OSError("no address for " + name)

    def _tls_context(self):
        if self._tls is None:
            import ssl

            # Certificates verified against the system's trust store, host name checked.
            self._tls = ssl.create_default_context()
        return self._tls

    def close(self):
        """Close the kept-alive connection, if there is one."""
        connection, self._connection = self._connection, None
        if connection is not None:
            try:  # noqa: SIM105 - contextlib would be one more import for the read
                connection[1].close()
            except OSError:
                pass


def sign_v4(method, host, path, body, headers, region, service, credentials, amz_date):
    """``headers`` plus SigV4's ``x-amz-date``, ``x-amz-security-token`` and ``authorization``
    for a request without a query string ("Signature Version 4 signing process")."""
    import hashlib
    import hmac

    access_key, secret_key, token = credentials
    signed = {name.lower(): value for name, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    if token:
        signed["x-amz-security-token"] = token
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            path,
            "",
            "".join(name + ":" + " ".join(signed[name].split()) + "\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = amz_date[:8] + "/" + region + "/" + service + "/aws4_request"
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = ("AWS4" + secret_key).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        "AWS4-HMAC-SHA256 Credential="
        + access_key
        + "/"
        + scope
        + ", SignedHeaders="
        + ";".join(names)
        + ", Signature="
        + signature
    )
    return signed


class StoreClosedError(ConnectionResetError):
    """The store closed a kept-alive connection before answering (it does so to idle ones)."""


def _split_host(host, secure):
    """(name, port) of a ``Host`` value: ``name``, ``name:port``, ``[v6]`` or ``[v6]:port``."""
    default = 443 if secure else 80
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name, int(rest[1:]) if rest.startswith(":") else default
    name, colon, port = host.partition(":")
    return name, int(port) if colon else default


def _remaining(until):
    left = until - time.monotonic()
    if left <= 0:
        raise TimeoutError("the read's time is spent")
    return left


def _receive(sock, until):
    sock.settimeout(_remaining(until))
    return sock.recv(65536)


def _answer_head(sock, until, reused):
    """(status, lowercase headers, bytes after the head) of the answer on ``sock``."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        if len(buffer) > MAX_HEAD_BYTES:
            raise ValueError("the store's answer has no end of headers")
        chunk = _receive(sock, until)
        if not chunk:
            if not buffer and reused:
                raise StoreClosedError("the store closed the kept-alive connection")
            raise ConnectionResetError("the store closed the connection mid-answer")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = [*status_line.split(" ", 2), ""]
    if not version.startswith("HTTP/1.") or not status.isdigit():
        raise ValueError("not an HTTP answer: " + status_line[:80])
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status), headers, rest, version == "HTTP/1.1"


def _chunked_body(sock, until, data):
    """The body of a chunked answer, ``data`` being what arrived after the head."""
    body = b""
    while True:
        while b"\r\n" not in data:
            data += _more(sock, until, data)
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip() or b"x", 16)
        if size == 0:
            return body
        while len(data) < size + 2:
            data += _more(sock, until, data)
        body, data = body + data[:size], data[size + 2 :]
        if len(body) > MAX_ANSWER_BYTES:
            raise ValueError("the store's answer is too long")


def _more(sock, until, data):
    if len(data) > MAX_ANSWER_BYTES:
        raise ValueError("the store's answer is too long")
    chunk = _receive(sock, until)
    if not chunk:
        raise ConnectionResetError("the store closed the connection mid-answer")
    return chunk


def exchange(sock, request, until, reused=False):
    """Send ``request`` (bytes) on ``sock`` and read the answer: (status, body, keep-alive)."""
    sock.settimeout(_remaining(until))
    try:
        sock.sendall(request)
    except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError) as error:
        if reused:
            raise StoreClosedError(str(error)) from error
        raise
    status, headers, data, http11 = _answer_head(sock, until, reused)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked_body(sock, until, data)
        framed = True
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if not 0 <= length <= MAX_ANSWER_BYTES:
            raise ValueError("the store's answer is too long")
        while len(data) < length:
            data += _more(sock, until, data)
        body, framed = data[:length], True
    else:  # delimited by the end of the connection
        while True:
            chunk = _receive(sock, until)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_ANSWER_BYTES:
                raise ValueError("the store's answer is too long")
        body, framed = data, False
    keep = framed and http11 and headers.get("connection", "").lower() != "close"
    return status, body, keep
