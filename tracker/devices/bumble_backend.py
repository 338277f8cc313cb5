"""A bleak backend that runs on bumble's in-process virtual Bluetooth link.

Application code keeps using bleak's public API and only swaps the backend::

    world = VirtualBleWorld()            # inside a running event loop
    device = await BleakScanner.find_device_by_name(
        "tracker", backend=BumbleScanner, bumble_world=world
    )
    async with BleakClient(device, backend=BumbleClient) as client:
        ...

`VirtualBleWorld` holds a `bumble.link.LocalLink`, the central bumble device that the
scanner and client backends drive, and any number of peripheral devices (see
`tracker.devices.emulator`). No radio, no D-Bus, no network: everything runs on the
current asyncio loop, so the world must be created (and used) inside one loop.

The world reaches the backends through bleak's pass-through keyword arguments
(``bumble_world=``) or through the `BLEDevice.details` of a device this scanner found;
bleak needs ``backend=`` to be a class (it reads ``__name__``), so no partials.

bumble's virtual controller has quirks that this module works around: ATT MTU stays 23
unless the central asks, a connect to an absent address never finishes by itself, and a
lost peer is never noticed. Only `tracker.devices.ble` (through bleak) and the emulator use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bleak.args import SizedBuffer
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bumble import att, core, hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.gatt_client import CharacteristicProxy
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

if TYPE_CHECKING:
    from bleak.assigned_numbers import CharacteristicPropertyName

#: The ATT MTU the central asks for after connecting, as BlueZ and CoreBluetooth do
#: on their own; without the exchange bumble keeps 23 and silently cuts notifications.
DEFAULT_REQUESTED_MTU = 247

_CENTRAL_ADDRESS = "F0:F0:F0:F0:F0:F0"

_PROPERTY_NAMES: tuple[tuple[Characteristic.Properties, CharacteristicPropertyName], ...] = (
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
    (Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES, "authenticated-signed-writes"),
    (Characteristic.Properties.EXTENDED_PROPERTIES, "extended-properties"),
)


def bleak_uuid(uuid: core.UUID) -> str:
    """bleak's normalised form (lower-case 128-bit string) of a bumble UUID.

    ``str(bumble_uuid)`` gives e.g. ``"UUID-16:180F (Battery)"``, which bleak cannot match.
    """
    return str(uuidlib.UUID(bytes=bytes(reversed(uuid.to_bytes(force_128=True)))))


def _advertised_uuids(data: core.AdvertisingData) -> list[str]:
    found: list[str] = []
    for ad_type in (
        core.AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        core.AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        core.AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        core.AdvertisingData.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        core.AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        core.AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for uuid_list in data.get_all(ad_type):
            for uuid in uuid_list:
                found.append(bleak_uuid(uuid))
    # The virtual controller answers scan requests with the advertising data, so an
    # active scan sees every list twice: keep the first occurrence of each.
    return list(dict.fromkeys(found))


def _advertisement_to_bleak(adv: Advertisement) -> tuple[str | None, AdvertisementData]:
    data = adv.data
    name = data.get(core.AdvertisingData.COMPLETE_LOCAL_NAME) or data.get(
        core.AdvertisingData.SHORTENED_LOCAL_NAME
    )
    manufacturer: dict[int, bytes] = {}
    for company_id, payload in data.get_all(core.AdvertisingData.MANUFACTURER_SPECIFIC_DATA):
        manufacturer[company_id] = bytes(payload)
    service_data: dict[str, bytes] = {}
    for ad_type in (
        core.AdvertisingData.SERVICE_DATA_16_BIT_UUID,
        core.AdvertisingData.SERVICE_DATA_32_BIT_UUID,
        core.AdvertisingData.SERVICE_DATA_128_BIT_UUID,
    ):
        for service_uuid, payload in data.get_all(ad_type):
            service_data[bleak_uuid(service_uuid)] = bytes(payload)
    tx_power = data.get(core.AdvertisingData.TX_POWER_LEVEL)
    rssi = adv.rssi if adv.rssi != Advertisement.RSSI_NOT_AVAILABLE else -127
    adv_data = AdvertisementData(
        local_name=name if isinstance(name, str) else None,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=_advertised_uuids(data),
        tx_power=tx_power if isinstance(tx_power, int) else None,
        rssi=rssi,
        platform_data=(adv,),
    )
    return adv_data.local_name, adv_data


class VirtualBleWorld:
    """An in-process Bluetooth LE "ether": one `LocalLink`, a central, and peripherals.

    Create it inside the running event loop that will use it (bumble binds its objects
    to that loop). Peripherals join with `add_device`; the scanner and client backends
    drive `central`. `close` powers everything off.
    """

    def __init__(self) -> None:
        # AsyncPipeSink captures the running loop, so this raises outside a loop:
        # better a clear RuntimeError now than a hang later.
        asyncio.get_running_loop()
        self.link = LocalLink()
        self._addresses = (f"C0:00:00:00:{i >> 8:02X}:{i & 0xFF:02X}" for i in itertools.count(1))
        self.central_controller, self.central = self._make_device("central", _CENTRAL_ADDRESS)
        self._devices: list[Device] = []
        self._started = False
        self._start_lock = asyncio.Lock()
        self._scan_listeners: list[Callable[[Advertisement], None]] = []
        self._scan_active = False
        self._connect_lock = asyncio.Lock()
        self.central.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)

    def _make_device(self, name: str, address: str) -> tuple[Controller, Device]:
        controller = Controller(name, link=self.link, public_address=address)
        host = Host(controller, AsyncPipeSink(controller))
        device = Device(name=name, address=hci.Address(address), host=host)
        return controller, device

    def add_device(self, name: str, address: str | None = None) -> Device:
        """A new powered-off bumble device on this link (a peripheral to be).

        ``address`` is a static random address ``"C0:..."``; one is allocated if omitted.
        """
        used = {str(d.random_address.to_string(False)) for d in self._devices}
        if address is None:
            address = next(a for a in self._addresses if a not in used)
        elif address.upper() in used:
            raise ValueError(f"address {address} is already on this virtual link")
        _, device = self._make_device(name, address)
        self._devices.append(device)
        return device

    async def start(self) -> None:
        """Power the central on (idempotent)."""
        async with self._start_lock:
            if not self._started:
                await self.central.power_on()
                self._started = True

    async def close(self) -> None:
        """Disconnect every link and power every device off."""
        for device in [self.central, *self._devices]:
            if not device.powered_on:
                continue
            for connection in list(device.connections.values()):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection.disconnect(), 1.0)
            with contextlib.suppress(Exception):
                await device.power_off()
        self._started = False

    # Scanning is shared: two scanners (one per sensor) may run at once on one central.
    async def add_scan_listener(self, listener: Callable[[Advertisement], None]) -> None:
        await self.start()
        self._scan_listeners.append(listener)
        if not self._scan_active:
            self._scan_active = True
            await self.central.start_scanning(active=True, filter_duplicates=False)

    async def remove_scan_listener(self, listener: Callable[[Advertisement], None]) -> None:
        with contextlib.suppress(ValueError):
            self._scan_listeners.remove(listener)
        if not self._scan_listeners and self._scan_active:
            self._scan_active = False
            await self.central.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        for listener in list(self._scan_listeners):
            listener(adv)

    async def connect(self, address: hci.Address, timeout_s: float) -> Connection:
        """Connect the central to ``address``, giving up after ``timeout_s``.

        bumble's virtual controller ignores LE_Create_Connection_Cancel, so a connect to
        an absent peer would hang and block every later connect: bound it from outside
        and reset the controller's pending state by hand.
        """
        await self.start()
        async with self._connect_lock:  # one pending LE connection per controller
            try:
                return await asyncio.wait_for(
                    self.central.connect(address, timeout=None), timeout_s
                )
            except TimeoutError:
                self.central_controller.pending_le_connection = None
                self.central.le_connecting = False
                raise


_default_world: VirtualBleWorld | None = None


def set_default_world(world: VirtualBleWorld | None) -> None:
    """Make ``world`` the one used when no ``bumble_world=`` is passed (None to clear)."""
    global _default_world
    _default_world = world


def _resolve_world(world: VirtualBleWorld | None) -> VirtualBleWorld:
    world = world or _default_world
    if world is None:
        raise BleakError(
            "the bumble backend needs a VirtualBleWorld: pass bumble_world=... "
            "or call set_default_world()"
        )
    return world


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend that listens on a `VirtualBleWorld`'s central.

    Extra keyword: ``bumble_world`` (else the default world). Scans are always active
    and shared by every scanner of the world; ``scanning_mode`` makes no difference on
    the virtual link, whose controller answers scan requests with the advertisement.
    """

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        bumble_world: VirtualBleWorld | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._world = _resolve_world(bumble_world)

    async def start(self) -> None:
        self.seen_devices = {}
        await self._world.add_scan_listener(self._on_advertisement)

    async def stop(self) -> None:
        await self._world.remove_scan_listener(self._on_advertisement)

    def _on_advertisement(self, adv: Advertisement) -> None:
        name, adv_data = _advertisement_to_bleak(adv)
        if not self.is_allowed_uuid(adv_data.service_uuids):
            return
        address = adv.address.to_string(with_type_qualifier=False)
        key = str(adv.address)
        device = self.create_or_update_device(
            key, address, name, {"bumble_address": adv.address, "world": self._world}, adv_data
        )
        self.call_detection_callbacks(device, adv_data)


class BumbleClient(BaseBleakClient):
    """bleak client backend that connects the `VirtualBleWorld`'s central to a peer.

    Extra keywords: ``bumble_world`` (needed only when given an address string and no
    default world is set) and ``bumble_mtu`` (ATT MTU to request; 23 skips the exchange,
    which reproduces a peer or stack that never negotiates).
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        bumble_world: VirtualBleWorld | None = None,
        bumble_mtu: int = DEFAULT_REQUESTED_MTU,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout
        )
        details = (
            address_or_ble_device.details
            if isinstance(address_or_ble_device, BLEDevice)
            and isinstance(address_or_ble_device.details, dict)
            else {}
        )
        self._world = _resolve_world(details.get("world") or bumble_world)
        self._peer_address: hci.Address = details.get("bumble_address") or hci.Address(
            self.address.split("/")[0], hci.Address.RANDOM_DEVICE_ADDRESS
        )
        self._requested_mtu = bumble_mtu
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    @property
    def name(self) -> str:
        return self.address

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        timeout_s = kwargs.get("timeout", self._timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            connection = await self._world.connect(self._peer_address, timeout_s)
        except (core.ConnectionError, hci.HCI_Error) as exc:
            raise BleakDeviceNotFoundError(
                self.address, f"cannot connect to {self.address}: {exc}"
            ) from exc
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            async with asyncio.timeout_at(deadline):
                if self._requested_mtu > att.ATT_DEFAULT_MTU:
                    await self._peer.request_mtu(self._requested_mtu)
                self.services = await self._discover()
        except BaseException:
            await self.disconnect()
            raise

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        peer = self._peer
        await peer.discover_services()
        collection = BleakGATTServiceCollection()
        for service in peer.services:
            await service.discover_characteristics()
            bleak_service = BleakGATTService(service, service.handle, bleak_uuid(service.uuid))
            collection.add_service(bleak_service)
            for char in service.characteristics:
                await peer.discover_descriptors(char)
                properties = [name for flag, name in _PROPERTY_NAMES if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    bleak_uuid(char.uuid),
                    properties,
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in char.descriptors:
                    collection.add_descriptor(
                        BleakGATTDescriptor(
                            descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_char
                        )
                    )
        return collection

    def _on_disconnection(self, reason: int) -> None:
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._connection is None:
            return
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        self.services = None
        # Like BlueZ, fire for every disconnect, ours included (ble-testing.md pitfall 7).
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            # A peer that left the link without a terminate is never noticed by the
            # virtual controller: bound the wait and clean up locally.
            await asyncio.wait_for(connection.disconnect(), self._timeout)
        except (TimeoutError, core.BaseBumbleError, hci.HCI_Error):
            pass
        self._drop_connection()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(characteristic.handle))
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.read_value(descriptor.handle))
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: SizedBuffer, response: bool
    ) -> None:
        peer = self._require_peer()
        try:
            await peer.write_value(characteristic.handle, bytes(data), with_response=response)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def write_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, data: SizedBuffer
    ) -> None:
        peer = self._require_peer()
        try:
            await peer.write_value(descriptor.handle, bytes(data), with_response=True)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy: CharacteristicProxy = characteristic.obj

        def subscriber(value: bytes) -> None:
            callback(bytearray(value))

        try:
            await peer.subscribe(proxy, subscriber, prefer_notify=True)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
        self._subscribers[characteristic.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        try:
            await peer.unsubscribe(characteristic.obj, subscriber)
        except att.ATT_Error as exc:
            raise BleakGATTProtocolError(exc.error_code) from exc
