"""A SIGTERM whose exception Python swallowed still stops the sandbox."""

from __future__ import annotations

import os
import signal
import time

import pytest

from privatelink_operator.sandbox import run


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_signal_whose_exception_was_swallowed_is_raised_at_the_next_check() -> None:
    class Swallower:
        def __del__(self) -> None:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.1)  # the handler runs here; its exception is "ignored" in __del__

    try:
        with run._signals_raise():
            obj = Swallower()
            del obj
            with pytest.raises(run.Interrupted) as caught:
                run.raise_pending_interrupt()
            assert caught.value.signum == signal.SIGTERM
    finally:
        run._pending_signals.clear()
    run.raise_pending_interrupt()  # nothing pending: no exception
