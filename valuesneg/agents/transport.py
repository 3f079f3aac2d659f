"""Transport retries for the OpenAI-compatible chat model, and only there: one policy, with
one budget, decides (the SDK's own retries are switched off).

Retried: connection errors, timeouts, 408, 429 and 5xx (except 501, and except 500 from
llama-cpp-python's server, whose 500s are deterministic reactions to the request itself).
Everything else is final. Backoff is exponential with jitter; a Retry-After (or OpenAI's
retry-after-ms) header replaces the computed backoff, and a wait that would overrun the
total wait budget ends the retries at once instead of sleeping in vain.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from openai import APIConnectionError, APIStatusError, APITimeoutError
from tenacity import RetryCallState, Retrying, retry_if_exception

from valuesneg.agents.models import (
    EndpointUnreachable,
    ModelError,
    ModelRefused,
    TransportExhausted,
)

_MAX_DETAIL_CHARS = 300

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounds for transport retries.

    `max_total_wait_s` bounds the sum of backoff sleeps, not request time: a run's worst case
    is `max_attempts * timeout + max_total_wait_s`.
    """

    max_attempts: int = 4
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    jitter_s: float = 0.5
    max_total_wait_s: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds the server asked us to wait, from `retry-after-ms` or `retry-after`, if any.

    `headers` must be looked up case-insensitively or hold lower-case names (httpx's do).
    Retry-After may be delta-seconds or an HTTP date; unparseable values count as absent.
    """
    millis = _parse_float(headers.get("retry-after-ms"))
    if millis is not None:
        return max(millis / 1000.0, 0.0)
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _parse_float(raw)
    if seconds is not None:
        return max(seconds, 0.0)
    return _seconds_until_http_date(raw, now or datetime.now(UTC))


def _parse_float(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _seconds_until_http_date(raw: str, now: datetime) -> float | None:
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # RFC 9110 dates are GMT even when unmarked
    return max((when - now).total_seconds(), 0.0)


def _hinted_wait(exc: BaseException | None) -> float | None:
    if isinstance(exc, APIStatusError):
        return retry_after_seconds(exc.response.headers)
    return None


class TransportRetry:
    """Tenacity wait/stop/retry strategy implementing `RetryPolicy`."""

    def __init__(self, policy: RetryPolicy, *, retry_500: bool) -> None:
        self.policy = policy
        self.retry_500 = retry_500

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, APIConnectionError):  # includes APITimeoutError
            return True
        if not isinstance(exc, APIStatusError):
            return False
        status = exc.status_code
        if status in (408, 429):
            return True
        if status == 500:
            return self.retry_500
        return status >= 500 and status != 501  # 501: the server will never implement it

    def wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        hinted = _hinted_wait(exc)
        if hinted is not None:
            return hinted
        backoff = self.policy.initial_backoff_s * 2.0 ** (state.attempt_number - 1)
        return min(self.policy.max_backoff_s, backoff + random.uniform(0, self.policy.jitter_s))

    def stop(self, state: RetryCallState) -> bool:
        # Tenacity (>= 8.3) computes the upcoming sleep before asking whether to stop.
        over_budget = state.idle_for + state.upcoming_sleep > self.policy.max_total_wait_s
        return state.attempt_number >= self.policy.max_attempts or over_budget

    def run(self, fn: Callable[[], T]) -> tuple[T, int]:
        """Call `fn` under the policy; return its result and the attempts used."""
        attempts = 0

        def attempt() -> T:
            nonlocal attempts
            attempts += 1
            return fn()

        retrying = Retrying(
            retry=retry_if_exception(self.is_transient),
            wait=self.wait,
            stop=self.stop,
            reraise=True,
            sleep=time.sleep,
        )
        try:
            return retrying(attempt), attempts
        except (APIConnectionError, APIStatusError) as exc:
            raise self.typed_error(exc, attempts) from exc

    def typed_error(self, exc: APIConnectionError | APIStatusError, attempts: int) -> ModelError:
        url = str(exc.request.url)
        tried = f"after {attempts} attempt(s)"
        if isinstance(exc, APITimeoutError):
            return TransportExhausted(f"{url} timed out {tried}", url=url, attempts=attempts)
        if isinstance(exc, APIConnectionError):
            cause = one_line(str(exc.__cause__ or exc))
            return EndpointUnreachable(
                f"cannot reach {url} {tried}: {cause}", url=url, attempts=attempts
            )
        detail = f"HTTP {exc.status_code} from {url}"
        if not self.is_transient(exc):
            return ModelRefused(
                f"{detail}: {_error_detail(exc)}", url=url, status_code=exc.status_code
            )
        hinted = _hinted_wait(exc)
        if attempts < self.policy.max_attempts and hinted is not None:
            tried += (
                f"; it asked to retry after {hinted:g}s, beyond the "
                f"{self.policy.max_total_wait_s:g}s wait budget"
            )
        return TransportExhausted(
            f"{detail} {tried}: {_error_detail(exc)}", url=url, attempts=attempts
        )


def _error_detail(exc: APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return one_line(inner["message"])
        if isinstance(inner, str):
            return one_line(inner)
    return one_line(exc.message)


def one_line(text: str) -> str:
    """``text`` on one line, cut to a length an error message can carry."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL_CHARS else flat[: _MAX_DETAIL_CHARS - 1] + "…"

