"""Which device kinds the BLE session supports, found by id, advertisement or services.

The built-in kinds (`tracker.devices.host_protocols`) register themselves with the
registry in `tracker.devices.kinds` when first imported; every lookup here imports them
first. Kept apart from `tracker.devices.kinds` so that the registry, which the protocol
adapters import, does not import them back.
"""

from __future__ import annotations

from collections.abc import Iterable

from tracker.devices.kinds import DeviceKind, UnknownDeviceError, registered_kinds


def supported_kinds() -> dict[str, DeviceKind]:
    """Every supported kind by id, in registration order (our profile first)."""
    _load_builtin()
    return registered_kinds()


def supported_kinds_text() -> str:
    """``"tracker_imu (our firmware profile), polar_pmd (...)"`` for error messages."""
    return ", ".join(f"{k.kind} ({k.description})" for k in supported_kinds().values())


def get_kind(kind: str) -> DeviceKind:
    kinds = supported_kinds()
    try:
        return kinds[kind]
    except KeyError:
        raise UnknownDeviceError(
            f"unknown device kind {kind!r}; supported kinds: {supported_kinds_text()}"
        ) from None


def kind_of_advertisement(
    name: str | None, service_uuids: list[str], manufacturer_ids: Iterable[int] = ()
) -> DeviceKind | None:
    """The kind an advertisement (name, service UUIDs, manufacturer data company ids)
    belongs to, None when no supported kind."""
    ids = tuple(manufacturer_ids)
    for kind in supported_kinds().values():
        if kind.matches_advertisement(name, service_uuids, ids):
            return kind
    return None


def kind_of_services(service_uuids: list[str]) -> DeviceKind | None:
    present = {u.lower() for u in service_uuids}
    for kind in supported_kinds().values():
        if kind.service_uuid in present:
            return kind
    return None


def _load_builtin() -> None:
    # Imported here: the protocol adapters import the codecs, which import numpy.
    from tracker.devices import host_protocols  # noqa: F401  (registers the kinds)
