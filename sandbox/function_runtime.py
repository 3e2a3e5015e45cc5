"""CloudFront Functions, emulated: run a function's real code in V8 (mini-racer, from PyPI, so
``./dev`` needs nothing outside its virtual environment) with CloudFront's documented event shape
and a stand-in for the ``cloudfront`` module that records what the function asked for.

What the stand-in checks, as CloudFront documents it ("Helper methods for origin modification"):
``selectRequestOriginById(id)`` names an origin of the distribution;
``createRequestOriginGroup({originIds, failoverCriteria: {statusCodes}})`` names two of them as
``{originId}`` objects, the form of the guide's only example (its prose says ids; CloudFront checks
the result after the function returns, so no other form is accepted here), and failover codes an
origin group accepts. Anything else the function asks for, a thrown error, or a return value that
is not a request is a failed function, which CloudFront answers with a 503. Like CloudFront's
runtime, the context has no timers, network or dynamic code evaluation ("Restrictions on CloudFront
Functions").
V8 is not CloudFront's own JavaScript engine: it accepts at least what runtime 2.0 accepts, so the
code's features are also checked statically (``tests/aws_rules.py``).
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from py_mini_racer import JSEvalException, JSFunction, JSPromise, MiniRacer

from core.cloudfront import FAILOVER_STATUS_CODES_ALLOWED
from edge_function.cloudfront_function import CLOUDFRONT_MODULE_IMPORT

# Replaces the import line: the module binding the code expects, as a stand-in that records calls.
_STAND_IN = """
var __calls = [], __logs = [], __kvs = null, __kvsReads = 0, __kvsAssociated = false;
var cf = {
    edgeLocation: undefined,
    selectRequestOriginById: function (originId) {
        __calls.push({ method: 'selectRequestOriginById', args: [originId] });
    },
    createRequestOriginGroup: function (group) {
        __calls.push({ method: 'createRequestOriginGroup', args: [group] });
    },
    updateRequestOrigin: function (origin) {
        __calls.push({ method: 'updateRequestOrigin', args: [origin] });
    },
    kvs: function () {
        if (!__kvsAssociated) {
            throw new Error('no key value store is associated with this function');
        }
        return {
            get: function (key, options) {
                __kvsReads++;
                return new Promise(function (resolve, reject) {
                    if (__kvs === false) {
                        reject(new Error('the key value store could not be read'));
                        return;
                    }
                    if (__kvs === null || !Object.prototype.hasOwnProperty.call(__kvs, key)) {
                        reject(new Error('KeyNotFound'));
                        return;
                    }
                    var format = options && options.format ? options.format : 'string';
                    if (format === 'json') {
                        try { resolve(JSON.parse(__kvs[key])); } catch (e) { reject(e); }
                    } else if (format === 'string') {
                        resolve(__kvs[key]);
                    } else {
                        reject(new Error('format ' + format + ' is not emulated'));
                    }
                });
            },
            exists: function (key) {
                __kvsReads++;
                if (__kvs === false) {
                    return Promise.reject(new Error('the key value store could not be read'));
                }
                return Promise.resolve(
                    __kvs !== null && Object.prototype.hasOwnProperty.call(__kvs, key));
            }
        };
    }
};
"""
_RUNTIME = """
var console = { log: function () { __logs.push(Array.prototype.join.call(arguments, ' ')); } };
['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'fetch',
 'require', 'process', 'XMLHttpRequest', 'WebSocket'].forEach(function (name) {
    delete globalThis[name];
    if (typeof globalThis[name] !== 'undefined') { globalThis[name] = undefined; }
});
globalThis.eval = undefined;
async function __invoke(eventJson, locationJson, kvsJson) {
    __calls = []; __logs = []; __kvsReads = 0;
    cf.edgeLocation = JSON.parse(locationJson);
    __kvs = JSON.parse(kvsJson);
    var request = null, error = null;
    try { request = await handler(JSON.parse(eventJson)); }
    catch (thrown) { error = String(thrown); }
    return JSON.stringify({ request: request === undefined ? null : request, calls: __calls,
                            logs: __logs, error: error, kvsReads: __kvsReads });
}
async function __repeat(eventJson, locationJson, kvsJson, times) {
    var event = JSON.parse(eventJson);
    cf.edgeLocation = JSON.parse(locationJson);
    __kvs = JSON.parse(kvsJson);
    for (var i = 0; i < times; i++) { __calls = []; await handler(event); }
    return __calls.length;
}
"""


# CloudFront Functions must finish in about a millisecond of compute; a second here means a hang.
_INVOKE_TIMEOUT_S = 1.0


class KeyValueStoreUnavailable(Exception):  # noqa: N818 - a condition, as the store reports it
    """Raised by a key value store that cannot be read now: the function's reads reject."""


class RejectedFunctionError(ValueError):
    """Code CloudFront would not accept as an origin-modifying function."""


@dataclass(frozen=True)
class OriginChoice:
    """What the function chose: one origin id, or two as a failover group with its codes."""

    origin_ids: tuple[str, ...]
    failover_status_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class FunctionResult:
    request: dict[str, Any] | None
    # None: the function chose nothing, and the request stays on the behaviour's origin.
    choice: OriginChoice | None
    # Set when the function failed: it threw, or asked for something invalid.
    error: str | None
    logs: list[str] = field(default_factory=list)
    # How many times the function read its key value store.
    kvs_reads: int = 0
    # The function ran but returned or asked for what CloudFront refuses: a validation error.
    invalid: bool = False

    @property
    def error_status(self) -> int:
        """What CloudFront answers a failed function with: 503 for an error it threw ("A function
        that throws is answered 503"), 502 for a validation error ("HTTP 502 status code (Bad
        Gateway)": "CloudFront function validation error")."""
        return 502 if self.invalid else 503


def viewer_request_event(
    method: str,
    uri: str,
    *,
    host: str,
    client_ip: str,
    querystring: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    request_id: str = "sandbox",
) -> dict[str, Any]:
    """A viewer-request event as CloudFront Functions receive it ("CloudFront Functions event
    structure"): lowercase header names, ``{value}`` objects."""
    return {
        "version": "1.0",
        "context": {
            "distributionDomainName": host,
            "distributionId": "ESANDBOXEXAMPLE",
            "eventType": "viewer-request",
            "requestId": request_id,
        },
        "viewer": {"ip": client_ip},
        "request": {
            "method": method,
            "uri": uri,
            "querystring": {name: {"value": value} for name, value in (querystring or {}).items()},
            "headers": {
                "host": {"value": host},
                **{name.lower(): {"value": value} for name, value in (headers or {}).items()},
            },
            "cookies": {},
        },
    }


def edge_location(region: str | None, name: str = "SBX") -> dict[str, str] | None:
    """``cf.edgeLocation`` for an edge whose Regional edge cache is ``region``."""
    if region is None:
        return None
    return {"name": name, "serverIp": "192.0.2.10", "region": region}


class CloudFrontFunction:
    """One published function of a distribution whose origins are ``origin_ids``, associated with
    the key value store ``kvs`` (a mapping of key to value text read at each invocation, as the
    store holds it then; ``KeyValueStoreUnavailable`` from it makes every read reject), or with
    none."""

    def __init__(
        self,
        code: str,
        origin_ids: Collection[str],
        kvs: Mapping[str, str] | None = None,
    ) -> None:
        first, _, rest = code.partition("\n")
        if first.strip() != CLOUDFRONT_MODULE_IMPORT:
            raise RejectedFunctionError(
                f"the first line must be {CLOUDFRONT_MODULE_IMPORT!r} to modify origins"
            )
        self.origin_ids = frozenset(origin_ids)
        self.kvs = kvs
        self._context = MiniRacer()
        self._lock = threading.Lock()
        # The stand-in replaces the import on the same line, so line numbers in errors match.
        associated = "__kvsAssociated = true;" if kvs is not None else ""
        try:
            self._context.eval(_STAND_IN.replace("\n", " ") + associated + "\n" + rest)
        except JSEvalException as error:
            thrown = re.search(r"^\w*Error: .*$", str(error), re.MULTILINE)
            raise RejectedFunctionError(
                f"the function does not load: {thrown.group(0) if thrown else error}"
            ) from None
        self._context.eval(_RUNTIME)
        # The wrappers are async: calling them gives a promise to wait on.
        invoke, repeat = self._context.eval("__invoke"), self._context.eval("__repeat")
        if not isinstance(invoke, JSFunction) or not isinstance(repeat, JSFunction):
            raise RejectedFunctionError("the function redefines the sandbox's wrappers")
        self._invoke, self._repeat = invoke, repeat

    @staticmethod
    def _wait(promise: object, timeout: float) -> object:
        if not isinstance(promise, JSPromise):
            raise TypeError(f"an async wrapper gave {promise!r}, not a promise")
        return promise.get(timeout=timeout)

    def _kvs_json(self) -> str:
        """The store as the function reads it in this invocation: a consistent snapshot (a store
        that offers ``snapshot()`` gives one version, whatever writes happen meanwhile), ``false``
        while it cannot be read, ``null`` with no store associated."""
        if self.kvs is None:
            return "null"
        try:
            snapshot = getattr(self.kvs, "snapshot", None)
            items = snapshot() if callable(snapshot) else dict(self.kvs)
        except KeyValueStoreUnavailable:
            return "false"
        return json.dumps(items)

    def invoke(
        self, event: Mapping[str, Any], location: Mapping[str, Any] | None
    ) -> FunctionResult:
        with self._lock:
            promise = self._invoke(json.dumps(event), json.dumps(location), self._kvs_json())
            raw = self._wait(promise, _INVOKE_TIMEOUT_S)
        outcome = json.loads(str(raw))
        logs = [str(line) for line in outcome["logs"]]
        reads = int(outcome["kvsReads"])
        if outcome["error"] is not None:
            return FunctionResult(None, None, f"the function threw {outcome['error']}", logs, reads)
        request = outcome["request"]
        if not isinstance(request, dict) or "uri" not in request:
            return FunctionResult(
                None, None, "the function returned no request", logs, reads, invalid=True
            )
        try:
            choice = self._choice(outcome["calls"])
        except ValueError as error:
            return FunctionResult(None, None, str(error), logs, reads, invalid=True)
        return FunctionResult(request, choice, None, logs, reads)

    @property
    def v8_version(self) -> str:
        return str(self._context.v8_version)

    def repeat(
        self, event: Mapping[str, Any], location: Mapping[str, Any] | None, times: int
    ) -> None:
        """Run the handler ``times`` times inside V8 (for the benchmark: no bridge per call)."""
        with self._lock:
            promise = self._repeat(json.dumps(event), json.dumps(location), self._kvs_json(), times)
            self._wait(promise, _INVOKE_TIMEOUT_S * times)

    def _choice(self, calls: list[dict[str, Any]]) -> OriginChoice | None:
        if not calls:
            return None
        if len(calls) > 1:
            raise ValueError(f"the function changed the origin {len(calls)} times")
        (call,) = calls
        method, (argument,) = call["method"], call["args"]
        if method == "selectRequestOriginById":
            return OriginChoice((self._origin(argument),))
        if method != "createRequestOriginGroup":
            raise ValueError(f"{method} is not emulated by the sandbox")
        members = argument.get("originIds") if isinstance(argument, dict) else None
        if not isinstance(members, list) or len(members) != 2:
            raise ValueError(f"an origin group needs two originIds, not {members!r}")
        if not all(isinstance(member, dict) and set(member) == {"originId"} for member in members):
            raise ValueError(
                f"originIds {members!r}: each member must be an object {{originId: ...}}, as in "
                "the guide's example (originOverrides is not emulated)"
            )
        ids = tuple(self._origin(member["originId"]) for member in members)
        if ids[0] == ids[1]:
            raise ValueError(f"an origin group of {ids[0]} twice")
        criteria = argument.get("failoverCriteria")
        codes = criteria.get("statusCodes") if isinstance(criteria, dict) else None
        if (
            not isinstance(codes, list)
            or not codes
            or not set(codes) <= set(FAILOVER_STATUS_CODES_ALLOWED)
        ):
            raise ValueError(f"failoverCriteria.statusCodes {codes!r} is not a list of codes")
        return OriginChoice(ids, tuple(codes))

    def _origin(self, origin_id: object) -> str:
        if not isinstance(origin_id, str) or origin_id not in self.origin_ids:
            raise ValueError(f"{origin_id!r} is not an origin of the distribution")
        return origin_id
