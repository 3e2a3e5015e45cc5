"""Lambda@Edge origin-request routing: send every cache miss to the S3 origin nearest the edge
that is in rotation.

CloudFront runs this function in the Regional edge cache Region that handles the miss. It reads that
Region from its own ARN, looks up its ranking of every origin in the routing artifact
(``routing.json``, rendered at deploy time and packaged beside this file, because Lambda@Edge has no
environment variables), leaves out the origins the stack drains (also in the artifact) and those
the routing state puts out of rotation, and points the request at the first one left. A request to
the origin group's failover member carries the marker header; it goes to the edge's failover origin
(``ranked``: the next in rotation; ``fixed``: the fixed one unless it is out), never to one out of
rotation.

The routing state (drained by the stack's configuration, evacuated at run time) lives in a DynamoDB
global table with a replica in every Region this function runs in. A container reads it from its
own Region's replica at most once per ``refreshSeconds``, signed with the function's own
credentials. The read runs in a thread of its own and the request that started it waits for it at
most ``timeoutSeconds``, whatever the network does (name resolution included, which no socket
timeout bounds); past that the request goes on with what the container last read, and the read's
answer, if it comes, serves the requests after it. One read at a time: while one is under way no
other starts, and a read gives up after ``_READ_BUDGET_SECONDS`` of its own (name resolution
aside, which the resolver bounds). A read that fails keeps what the container last read (nothing,
in a new container). So a slow or absent store never holds a cache miss for more than the deadline
and never stops one: evacuations fail open, to routing by the rankings. Drains do not: they are in
the artifact, so a container that has read nothing still routes around them (fail safe).

Standard library only, and little of it at import: the read itself (SigV4 over ``hmac`` and
``hashlib``, HTTP/1.1 over ``socket`` and ``ssl``, one kept-alive connection per container) is in
``state_read.py``, shipped beside this file and loaded by the read's own thread, so a cold container
compiles and imports none of it before its first request, which waits for the read at most the
deadline (``http.client``, which the reads used before, cost tens of milliseconds of every cold
start through the ``email`` package it imports; botocore, which the runtime has, half a second).
This module has no import-time side effects and must stay valid on Python 3.11 to 3.13.
"""

import _thread
import os
import sys
import time

ARTIFACT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "routing.json")
SCHEMA_VERSION = 3
# The partition of the state table that holds the routing state: one item per owner (``drained``,
# written by Pulumi; ``evacuated``, by the evacuator and the break-glass commands).
STATE_PARTITION = "rotation"
# A container routes from one Region and sees few states; the bound only matters for callers
# that invent many.
_MAX_CACHED_ROUTES = 256
# A read of the state gives up after this long whatever it is doing (each socket operation is
# bounded by what is left of it), so a store that trickles its answer cannot hold the one read a
# container runs at a time for longer; the requests never wait for more than the deadline.
_READ_BUDGET_SECONDS = 5.0
# The key of a routes dict that holds the out-set its routing decisions were made for: no ARN
# contains a NUL.
OUT = "\0out"

_logged: set[str] = set()
# The state read's transport (state_read.py beside this file), once the first read has loaded it.
_transport_module: list[object] = []


def _transport():
    """The module that reads the state (``state_read.py``), loaded from beside this file by the
    read's own thread: a cold container compiles none of it before its first request. By path,
    not by name, so it is found wherever this module was loaded from."""
    if not _transport_module:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "state_read.py")
        module = type(sys)("geo_proximity_state_read")
        module.__file__ = path
        with open(path, encoding="utf-8") as source:
            exec(compile(source.read(), path, "exec"), module.__dict__)
        _transport_module.append(module)
    return _transport_module[0]


def _log_once(key, message):
    # CloudWatch Logs bills per byte and this runs on every cache miss: one line per cause and
    # per container.
    if key not in _logged:
        _logged.add(key)
        print("geo-proximity origin-request: " + message, file=sys.stderr, flush=True)


def _looks_like_region(code):
    """True for strings shaped like a Region code (``eu-west-2``, ``us-gov-west-1``)."""
    parts = code.split("-")
    return (
        len(parts) >= 3
        and parts[-1].isdigit()
        and all(part.isalpha() and part.islower() and part.isascii() for part in parts[:-1])
        and len(parts[0]) == 2
    )


def _edge_region(context):
    """The Region this invocation executes in, or None when neither source names one."""
    arn = getattr(context, "invoked_function_arn", None)
    if isinstance(arn, str):
        # arn:aws:lambda:<executing Region>:<account>:function:us-east-1.<name>:<version>
        fields = arn.split(":")
        if len(fields) > 3 and _looks_like_region(fields[3]):
            return fields[3]
    region = os.environ.get("AWS_REGION")
    if region and _looks_like_region(region):
        return region
    return None


def _has_header(headers, lowercase_name):
    # CloudFront lowercases header keys, so this scan only runs for events built by other tools.
    return any(isinstance(key, str) and key.lower() == lowercase_name for key in headers)


def _pass_through(event, context):
    try:
        return event["Records"][0]["cf"]["request"]
    except Exception:
        return None


class _ScannerSettings:
    """What the C scanner reads from a ``json.JSONDecoder``: strict JSON, plain dicts."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = float  # NaN and Infinity, as json.loads accepts them


def _c_scanner():
    # The json package imports re and enum: about 9 ms of a fresh interpreter's cold start.
    # CPython's C scanner, which json.loads uses underneath, parses the same documents without them.
    try:
        from _json import make_scanner

        # The scanner only reads these attributes, so a plain object stands in for a JSONDecoder.
        return make_scanner(_ScannerSettings())  # type: ignore[arg-type]
    except Exception:  # not CPython, or a CPython whose private scanner changed
        return None


def parse_json(text):
    """``json.loads(text)``, without importing json where CPython's C scanner is available."""
    scan = _c_scanner()
    if scan is None:
        import json

        return json.loads(text)
    start = len(text) - len(text.lstrip())
    try:
        document, end = scan(text, start)
    except StopIteration as stop:
        raise ValueError(f"no JSON value at character {stop.value}") from None
    if text[end:].strip():
        raise ValueError(f"extra data at character {end}")
    return document


def load_artifact(path=ARTIFACT_PATH):
    """The routing document at ``path``, or None (logged once) when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_json(handle.read())
    # a function that cannot route must still serve, from the group's origins
    except Exception as error:
        _log_once(
            "artifact",
            f"cannot read routing artifact {path} ({error!r}); requests pass through unchanged",
        )
        return None


def out_of_rotation(items):
    """The origins the state table's routing items put out of rotation (DynamoDB JSON): drained
    (``drained``, Pulumi's), evacuated by the health checks (``evacuated``; in an earlier layout
    operators' evacuations too), and each operator's decision about one origin
    (``operator#<Region>``: ``out``, or ``in``, which keeps it in whatever the checks say). Items
    of other owners, and decisions of another kind, are not this function's to read: one stray
    item must not turn drains and evacuations off at every edge.

    A container of an earlier version reads ``drained`` and ``evacuated`` only: it misses an
    operator's decisions (fail open, for evacuations only) until it is replaced by this one."""
    drained: set[str] = set()
    evacuated: set[str] = set()
    operator_out: set[str] = set()
    operator_in: set[str] = set()
    for item in items:
        owner = item["sk"]["S"]
        if owner.startswith("operator#"):
            state = item["state"]["S"]
            if state == "out":
                operator_out.add(item["region"]["S"])
            elif state == "in":
                operator_in.add(item["region"]["S"])
            continue
        regions = item.get("regions")
        if regions is None:
            continue
        if owner == "drained":
            drained.update(entry["S"] for entry in regions["L"])
        elif owner == "evacuated":
            evacuated.update(regions["M"])
    out = drained | operator_out | (evacuated - operator_in)
    if not all(isinstance(code, str) for code in out):
        raise ValueError("routing state names a Region that is not a string")
    return frozenset(out)


def _routes_for(out):
    """A dict of routing decisions, none made yet, for the out-set ``out``."""
    return {OUT: out}


class RoutingStateView:
    """What the handler reads of the routing state, with nothing out and nothing to read: the
    base of the state read from the table, and what a function without a routing state uses.

    ``routes`` holds the routing decisions made for the origins out of rotation now, by ARN, and
    under ``OUT`` that out-set itself; it is replaced whole when the out-set changes, so a decision
    never outlives the state it was made for. A request calls ``refresh`` once ``clock()`` reaches
    ``next_read``."""

    next_read = float("inf")

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.routes = _routes_for(frozenset())

    def publish(self, out):
        """Make ``out`` the origins out of rotation."""
        if out != self.routes[OUT]:
            # One assignment: the decisions and the out-set they were made for change together.
            self.routes = _routes_for(frozenset(out))

    def refresh(self, region):
        """Read the state again if it is time (nothing to read here)."""

    def out(self, region):
        """The origins out of rotation now, read again first if it is time."""
        if self.clock() >= self.next_read:
            self.refresh(region)
        return self.routes[OUT]


class RoutingState(RoutingStateView):
    """Which origins are out of rotation, as a container last read it from the state table."""

    def __init__(
        self,
        config,
        clock=time.monotonic,
        wall_clock=time.time,
        environ=os.environ,
        start_thread=_thread.start_new_thread,
    ):
        super().__init__(clock)
        self._table = config["table"]
        self._regions = config["regions"]
        self._refresh = float(config["refreshSeconds"])
        self._deadline = float(config["timeoutSeconds"])
        self._budget = max(self._deadline, min(self._refresh, _READ_BUDGET_SECONDS))
        self._endpoint = config.get("endpoint")
        self._wall_clock = wall_clock
        self._environ = environ
        self._start_thread = start_thread
        self.next_read = 0.0
        self._reading = False
        self._done = None  # released when the last read started has ended
        self._store = None  # state_read.StateStore: the endpoint and its kept-alive connection

    def refresh(self, region):
        """Start a read unless one is under way, and wait for it at most the deadline."""
        # Set first: a store that fails is asked again only after a whole period.
        self.next_read = self.clock() + self._refresh
        if self._reading:
            # The last read has not ended (a resolver that does not answer, say): no second one,
            # and no wait; the requests go on with what the container last read.
            _log_once(
                "state:busy",
                "the last read of the routing state has not ended; requests go on with "
                + (", ".join(sorted(self.routes[OUT])) or "every origin in rotation")
                + " (drains in the artifact stay out)",
            )
            return
        done = _thread.allocate_lock()
        done.acquire()
        self._reading = True
        try:
            self._start_thread(self._read_beside, (region, done))
        except Exception as error:  # no thread to be had: fail open
            self._reading = False
            self._failed(error)
            return
        self._done = done
        if done.acquire(timeout=self._deadline):
            done.release()  # released again: the read has ended, for whoever asks later
        else:
            _log_once(
                "state:deadline",
                "routing state not read within "
                + str(self._deadline)
                + " s; requests go on with "
                + (", ".join(sorted(self.routes[OUT])) or "every origin in rotation")
                + " until it is (drains in the artifact stay out)",
            )

    def settle(self, timeout):
        """Wait until no read is under way, at most ``timeout`` seconds; whether none is. The
        handler never calls it (tests and the sandbox do)."""
        done = self._done
        if done is None:
            return True
        if not done.acquire(timeout=timeout):
            return False
        done.release()
        return True

    def _read_beside(self, region, done):
        try:
            out = self._read(region)
        except BaseException as error:
            self._close()
            self._failed(error)
        else:
            self.publish(out)
        finally:
            self._reading = False
            done.release()

    def _failed(self, error):
        _log_once(
            "state:" + type(error).__name__,
            "routing state unreadable ("
            + repr(error)
            + "); keeping "
            + (", ".join(sorted(self.routes[OUT])) or "every origin in rotation")
            + " (drains in the artifact stay out)",
        )

    def _read(self, region):
        until = time.monotonic() + self._budget
        if self._store is None:
            self._store = _transport().StateStore(self._table, self._regions, self._endpoint)
        credentials = (
            self._environ["AWS_ACCESS_KEY_ID"],
            self._environ["AWS_SECRET_ACCESS_KEY"],
            self._environ.get("AWS_SESSION_TOKEN"),
        )
        status, data = self._store.query(
            STATE_PARTITION, region, credentials, self._wall_clock(), until
        )
        if status != 200:
            raise RuntimeError(
                "DynamoDB answered " + str(status) + ": " + data[:200].decode("utf-8", "replace")
            )
        return out_of_rotation(parse_json(data.decode("utf-8"))["Items"])

    def close(self):
        """Close the kept-alive connection (Lambda never does: a container keeps it)."""
        self._close()

    def _close(self):
        if self._store is not None:
            self._store.close()


def choose(ranking, out, mode, fixed_failover, drained=()):
    """(primary, failover) Regions for an edge's ``ranking``: routing.table.choose, in the
    standard library (the tests hold the two equal). ``out`` is the routing state's out-set,
    ignored when with ``drained`` it would leave nothing; ``drained``, the artifact's, never is."""
    in_rotation = [code for code in ranking if code not in out and code not in drained]
    if not in_rotation:
        out = drained
        in_rotation = [code for code in ranking if code not in drained]
    if not in_rotation:
        in_rotation, out = list(ranking), ()
    primary = in_rotation[0]
    if mode == "ranked":
        return primary, next((code for code in in_rotation if code != primary), None)
    if (
        mode == "fixed"
        and fixed_failover is not None
        and fixed_failover not in out
        and fixed_failover not in drained
    ):
        return primary, fixed_failover
    return primary, None


def _routing_of(document):
    """What the handler routes by, from the artifact: raises if it is not one it can use."""
    if document["schema"] != SCHEMA_VERSION:
        raise ValueError(f"schema {document['schema']!r} is not {SCHEMA_VERSION}")
    drained = frozenset(document["drained"])
    if not all(isinstance(code, str) for code in drained):
        raise ValueError("drained names a Region that is not a string")
    return {
        "domains": {code: origin["domainName"] for code, origin in document["origins"].items()},
        "mode": document["failover"],
        "fixed": document["fixedFailover"],
        "rankings": {edge: tuple(ranking) for edge, ranking in document["rankings"].items()},
        "default": tuple(document["defaultRanking"]),
        "marker": document["markerHeader"].lower(),
        "drained": drained,
    }


def build_handler(document, state=None):
    """An origin-request handler routing by ``document``; a pass-through one if it is unusable.
    ``state`` overrides the routing state the document names (tests)."""
    if document is None:
        return _pass_through
    try:
        routing = _routing_of(document)
        if state is None:
            state = RoutingState(document["state"]) if document["state"] is not None else None
    except Exception as error:
        _log_once(
            "artifact", f"routing artifact unusable ({error!r}); requests pass through unchanged"
        )
        return _pass_through
    if state is None:
        state = RoutingStateView()
    return _handler(routing, state)


def _handler(routing, state):
    domains, mode, fixed = routing["domains"], routing["mode"], routing["fixed"]
    rankings, default, drained = routing["rankings"], routing["default"], routing["drained"]
    marker = routing["marker"]
    clock = state.clock

    def decide(routes, context):
        """(domain, Region, Host header) of the primary and of the failover (the primary again
        where there is none) for the Region ``context`` executes in, remembered in ``routes`` by
        ARN."""
        primary, failover = choose(
            rankings.get(_edge_region(context), default), routes[OUT], mode, fixed, drained
        )
        failover = failover or primary
        # The Host header's value as a list made once per decision: the Lambda runtime serializes
        # what the handler returns and nothing changes it, so one list serves every request (a
        # third of the handler's time went into making a new one).
        route = (
            (domains[primary], primary, [{"key": "Host", "value": domains[primary]}]),
            (domains[failover], failover, [{"key": "Host", "value": domains[failover]}]),
        )
        arn = getattr(context, "invoked_function_arn", None)
        if isinstance(arn, str) and arn != OUT:
            if len(routes) > _MAX_CACHED_ROUTES:
                out = routes[OUT]
                routes.clear()
                routes[OUT] = out
            routes[arn] = route
        return route

    # The hot path: subscripts over .get() and try over checks, since a zero-cost try is cheaper
    # than a method call on every request and the exceptional paths are rare. A request costs a
    # clock reading and one lookup of the decision made for its ARN and the current out-set.
    def handler(event, context):
        request = None
        try:
            request = event["Records"][0]["cf"]["request"]
            origin = request["origin"]
            if "custom" in origin:
                return request
            s3 = origin["s3"]
            if clock() >= state.next_read:
                state.refresh(_edge_region(context))
            routes = state.routes
            try:
                route = routes[context.invoked_function_arn]
            except (KeyError, AttributeError, TypeError):
                route = decide(routes, context)
            try:
                custom_headers = s3["customHeaders"]
            except KeyError:
                custom_headers = None
            if custom_headers and (marker in custom_headers or _has_header(custom_headers, marker)):
                # The origin group is retrying on its failover member: the edge's failover
                # origin, or the primary again where there is none (never one out of rotation).
                domain, region, host = route[1]
            else:
                domain, region, host = route[0]
            request["headers"]["host"] = host
            s3["domainName"] = domain
            # CloudFront signs for this Region: the target bucket's, not the one executing.
            s3["region"] = region
            return request
        except Exception as error:
            _log_once("request:" + type(error).__name__, f"request left unchanged after {error!r}")
            return request

    return handler
