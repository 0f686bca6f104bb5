"""Pages of a drift snapshot that AWS answers byte for byte as last time are not parsed again.

A snapshot of 1000 objects reads about 40 pages of describes and lists (load balancers,
target groups, listeners, tags, endpoint services, connections, a hosted zone's records):
about 2.5 MB of XML, which botocore turns into
dictionaries at about 65 microseconds a load balancer. In steady state almost every page is the
one the last snapshot read, but for its request id. :class:`ReusingParsers` (botocore's parser
factory, registered on the operator's session) keys each page read inside
:func:`reused_pages` by its operation and a digest of its body without the request id; a page
seen in the current or the last snapshot is answered with the dictionaries parsed then. Items
of an unchanged page are then the very objects of the last snapshot: no second copy, and
comparisons with the last snapshot go by identity.

Only reads inside :func:`reused_pages` (the snapshot's own, on its thread) are memoized, and only
successful answers: what they return is shared and never modified (a snapshot is read-only).
A page whose body differs in any byte (a changed item, a pagination token AWS made anew) is
parsed as usual.

Every answer these parsers parse (in a snapshot or not) has its short string values shared
with the answers parsed before (:class:`SharedStrings`): tag keys, states, attribute names and
the VPC's ids are then one object for all the answers the operator keeps, not one an object.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from typing import Any

import botocore.parsers
from botocore.utils import lowercase_dict

__all__ = ["ReusingParsers", "SharedStrings", "new_round", "reused_pages"]

# The request id, in the body of query (RequestId) and EC2 (requestId) protocol answers.
_REQUEST_ID = re.compile(rb"<(RequestId|requestId)>([^<]*)</(?:RequestId|requestId)>")

_local = threading.local()
_rounds = itertools.count(1)


def new_round() -> int:
    """A round number for :func:`reused_pages`, greater than every one handed out before."""
    return next(_rounds)


class reused_pages:  # lower case: used as a function, ``with reused_pages():``
    """Answers parsed on this thread inside the block may be those of the last round's pages.

    ``round_``: the round the block's reads belong to (a snapshot's, from :func:`new_round`:
    its reads may come in several blocks); None: a round of its own. Pages read neither in a
    round nor in the one before it are forgotten. (A class, not ``contextlib.contextmanager``:
    that one sets ``__traceback__`` on what passes through, and AWS errors are frozen.)
    """

    def __init__(self, round_: int | None = None) -> None:
        self._round = new_round() if round_ is None else round_
        self._outer = 0

    def __enter__(self) -> None:
        self._outer = getattr(_local, "round", 0)
        _local.round = self._round

    def __exit__(self, *_: object) -> None:
        _local.round = self._outer


class PageMemo:
    """Parsed pages by (output shape, body digest), as read in the last two rounds."""

    def __init__(self) -> None:
        self._pages: dict[tuple[str, bytes], tuple[int, dict[str, Any]]] = {}
        self._round = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple[str, bytes], round_: int) -> dict[str, Any] | None:
        with self._lock:
            self._turn(round_)
            hit = self._pages.get(key)
            if hit is None:
                self.misses += 1
                return None
            self.hits += 1
            self._pages[key] = (round_, hit[1])
            return hit[1]

    def put(self, key: tuple[str, bytes], round_: int, parsed: dict[str, Any]) -> None:
        with self._lock:
            self._turn(round_)
            self._pages[key] = (round_, parsed)

    def _turn(self, round_: int) -> None:
        if round_ > self._round:
            last = self._round
            self._pages = {k: v for k, v in self._pages.items() if v[0] >= last}
            self._round = round_

    def __len__(self) -> int:
        return len(self._pages)


class SharedStrings:
    """One str object for each short value that parsed answers repeat.

    botocore makes a new str for every value of every answer. The answers the operator keeps
    (snapshots, per-resource details, tags) repeat most of theirs from object to object: tag
    keys and the cluster's tag values, target group attribute names and values, states,
    types, the VPC's and subnets' ids; and an ARN is one resource's, but the answers of
    several reads name it (the load balancer's in its own, its listeners', its target
    group's, its tags' and its endpoint service's). Sharing them saves about 60 bytes a
    repeat (150 for an ARN: 4.6 MB at N=500 with ARNs, over sharing up to 64 characters).
    Values longer than ``longest`` are left alone; the table is emptied when it holds
    ``limit`` strings (ids of resources gone since are not kept alive).
    """

    def __init__(self, longest: int = 64, limit: int = 100_000) -> None:
        self.longest = longest
        self.limit = limit
        self._table: dict[str, str] = {}

    def share(self, value: Any) -> Any:
        """``value`` (a parsed answer: dicts, lists, scalars) with its strings shared, in place."""
        if not isinstance(value, (dict, list)):
            return value
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:  # replacing an item's value is allowed while iterating
            if type(item) is str:
                if len(item) <= self.longest:
                    value[key] = self._one(item)
            elif isinstance(item, (dict, list)):
                self.share(item)
        return value

    def shared_copy(self, value: Any) -> Any:
        """A copy of ``value`` (JSON: dicts, lists, scalars) whose keys and short strings are
        shared. For what is kept long and made anew often, as the body of each watch event:
        its keys repeat from object to object too, and a dict's keys can only be replaced by
        building the dict again."""
        if isinstance(value, dict):
            one = self._one
            return {
                (one(k) if type(k) is str and len(k) <= self.longest else k): self.shared_copy(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.shared_copy(v) for v in value]
        if type(value) is str and len(value) <= self.longest:
            return self._one(value)
        return value

    def _one(self, text: str) -> str:
        table = self._table
        if len(table) >= self.limit:
            table.clear()  # a race with another thread's setdefault only loses a share
        return table.setdefault(text, text)

    def __len__(self) -> int:
        return len(self._table)


class _Reusing:
    """A botocore parser that answers a page from :class:`PageMemo` when it can, and shares
    the strings of every answer it parses (:class:`SharedStrings`)."""

    def __init__(self, parser: Any, memo: PageMemo, strings: SharedStrings) -> None:
        self._parser = parser
        self._memo = memo
        self._strings = strings

    def parse(self, response: dict[str, Any], shape: Any) -> Any:
        round_ = getattr(_local, "round", 0)
        body = response.get("body")
        if response["status_code"] >= 300 or shape is None or not body:
            return self._parser.parse(response, shape)
        if not round_:
            return self._strings.share(self._parser.parse(response, shape))
        digest = hashlib.blake2b(_REQUEST_ID.sub(b"", body), digest_size=16).digest()
        key = (shape.name, digest)
        parsed = self._memo.get(key, round_)
        if parsed is None:
            answer = self._strings.share(self._parser.parse(response, shape))
            if isinstance(answer, dict):
                self._memo.put(key, round_, {k: v for k, v in answer.items()
                                             if k != "ResponseMetadata"})  # fmt: skip
            return answer
        answer = dict(parsed)  # the caller's own top level: it may pop or add keys there
        found = _REQUEST_ID.search(body)
        answer["ResponseMetadata"] = {
            "RequestId": found.group(2).decode("utf-8", "replace") if found else "",
            "HTTPStatusCode": response["status_code"],
            "HTTPHeaders": lowercase_dict(response["headers"]),
        }
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


class ReusingParsers(botocore.parsers.ResponseParserFactory):
    """botocore's parser factory, whose parsers reuse pages inside :func:`reused_pages`."""

    def __init__(self) -> None:
        super().__init__()
        self.memo = PageMemo()
        self.strings = SharedStrings(longest=256)  # ARNs too

    def create_parser(self, protocol_name: str) -> Any:
        return _Reusing(super().create_parser(protocol_name), self.memo, self.strings)
