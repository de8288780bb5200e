"""Admission of tickets: slots, the queue, and background work (prefetch)
that runs only on an idle host and gives way to any real request."""

from __future__ import annotations

import pytest

from jupyter_codegen.errors import HostBusy
from jupyter_codegen.service.stats import RequestStats
from jupyter_codegen.service.tickets import Admission


def admission(slots: int, queue: int) -> Admission:
    return Admission(RequestStats(), slots, queue, queue_timeout=0)


@pytest.mark.parametrize(("slots", "queue"), [(1, 0), (1, 2), (2, 0), (2, 2)])
def test_a_real_request_stops_a_prefetch_and_gets_its_slot(slots: int, queue: int) -> None:
    adm = admission(slots, queue)
    prefetch = adm.new_ticket("prefetch:nb", "prefetch", background=True)
    adm.admit(prefetch)
    assert prefetch._place == "slot"
    # When a completion comes, whatever the slots and the queue
    completion = adm.new_ticket("c1", "complete")
    adm.admit(completion)
    # Then the prefetch is told to stop, and the completion is never refused
    assert prefetch.cancelled.is_set()
    assert completion._place in ("slot", "queued")
    # And once the prefetch's thread has returned, the completion holds a slot
    adm.free(prefetch)
    assert completion._place == "slot" and adm.held == 1


@pytest.mark.parametrize(("slots", "queue"), [(1, 0), (2, 0), (2, 2)])
def test_a_prefetch_never_runs_beside_a_real_request(slots: int, queue: int) -> None:
    adm = admission(slots, queue)
    completion = adm.new_ticket("c1", "complete")
    adm.admit(completion)
    prefetch = adm.new_ticket("prefetch:nb", "prefetch", background=True)
    with pytest.raises(HostBusy, match="idle model"):
        adm.admit(prefetch)
    assert adm.held == 1 and not completion.cancelled.is_set()
    # On an idle host it runs
    adm.free(completion)
    adm.admit(prefetch)
    assert prefetch._place == "slot"


def test_a_stopping_prefetch_promises_one_place_not_more() -> None:
    adm = admission(1, 0)
    prefetch = adm.new_ticket("prefetch:nb", "prefetch", background=True)
    adm.admit(prefetch)
    first = adm.new_ticket("c1", "complete")
    adm.admit(first)
    # A second request while the prefetch is still stopping finds no room
    second = adm.new_ticket("c2", "complete")
    with pytest.raises(HostBusy, match="1 generations are running and 1 are waiting"):
        adm.admit(second)
    assert first._place == "queued"
