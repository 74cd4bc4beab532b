"""What media a reference may name and a worker may fetch: schemes, local files, bundled
names, hosts and addresses, and how big a file may be. The one owner of that decision:
`assets.resolve` asks it before it reads or fetches anything, `guard` asks it for every
address an HTTP download connects to, the API asks it (`check_reference`) before a job is
queued, and the webhooks ask it of callback URLs with an allow-list of their own.

Template parameters come from API requests and automations, so a URL in them is
untrusted input: unchecked, `http://169.254.169.254/` would make a worker read the cloud
metadata service (its credentials) as a "background". Hosts are judged by the addresses
they resolve to when the connection is made, not by their names, so a name that
resolves to a public address once and to 127.0.0.1 for the download (DNS rebinding) is
refused too.

Configuration is read from the settings (`neuroshorts.settings`) on every call, so a
test or an operator changes it without restarting anything:

- `NEUROSHORTS_ALLOWED_SCHEMES`: comma list, default every scheme the resolver knows.
- `NEUROSHORTS_ALLOWED_HOSTS`: comma list of host names (`cdn.example.com`, or
  `*.example.com` for its subdomains), IP addresses or CIDR networks, plus the word
  `public` for every public address. Default `public`: loopback, link-local, private,
  unspecified and other non-public addresses are refused unless listed.
- `NEUROSHORTS_MAX_ASSET_BYTES`: largest file fetched, in bytes (`500MB`, `2G` work too).

The service reads no file of its own disk for a request unless `NEUROSHORTS_LOCAL_FILES`
is true (`without_local_files`).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from neuroshorts.errors import Refused
from neuroshorts.media.stock import PREFIX as STOCK
from neuroshorts.settings import settings

SCHEMES_ENV = "NEUROSHORTS_ALLOWED_SCHEMES"
HOSTS_ENV = "NEUROSHORTS_ALLOWED_HOSTS"
MAX_BYTES_ENV = "NEUROSHORTS_MAX_ASSET_BYTES"

#: `file` also covers plain paths.
KNOWN_SCHEMES = ("file", "builtin", "http", "https", "s3", "gs", "stock")
#: The scheme of a local file (a plain path, `file://`).
LOCAL = "file"
BUILTIN = "builtin:"
#: A bundled medium's name is a plain word: `builtin:../../etc/x` or a glob reaches nothing.
BUILTIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_WEB = ("http", "https")
#: Names that are loopback by definition (RFC 6761), judged without asking DNS.
_LOCAL_HOSTS = ("localhost", "localhost.")
_EXAMPLE_URL = "a URL such as https://host/file.jpg"
DEFAULT_MAX_BYTES = 500_000_000
PUBLIC = "public"

#: Address classes refused by default, in the order they are named in an error.
_CLASSES = ("unspecified", "loopback", "link_local", "multicast", "private", "reserved")
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?", re.IGNORECASE)
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Policy:
    schemes: frozenset[str]
    public: bool
    names: tuple[str, ...]
    networks: tuple[Network, ...]
    max_bytes: int
    #: The setting the hosts come from, named in refusals.
    variable: str = HOSTS_ENV

    @classmethod
    def from_env(cls) -> Policy:
        config = settings()
        configured = config.allowed_schemes
        schemes = _list(",".join(KNOWN_SCHEMES) if configured is None else configured)
        unknown = sorted(set(schemes) - set(KNOWN_SCHEMES))
        if unknown:
            raise ValueError(
                f"{SCHEMES_ENV}: unknown scheme {', '.join(unknown)}; "
                f"expected some of {', '.join(KNOWN_SCHEMES)}"
            )
        public, names, networks = parse_hosts(config.allowed_hosts, HOSTS_ENV)
        return cls(
            frozenset(schemes),
            public,
            names,
            networks,
            parse_size(MAX_BYTES_ENV, config.max_asset_bytes, DEFAULT_MAX_BYTES),
        )

    def without_local_files(self) -> Policy:
        """This policy with local files (plain paths, `file://`) refused."""
        return replace(self, schemes=self.schemes - {LOCAL})

    def check_reference(self, reference: str) -> None:
        """Refuse a media reference that this policy does not allow, judging what shows
        without a DNS lookup: the scheme, a local file, a bundled name, a URL's host.

        Host names are judged when a download connects (`guard`), by their addresses.
        """
        scheme = scheme_of(reference)
        if scheme == LOCAL and LOCAL not in self.schemes:
            raise Refused(
                "is a file on the server",
                "a URL or builtin:NAME (local files are refused unless "
                "NEUROSHORTS_LOCAL_FILES=true)",
            )
        self.check_scheme(scheme)
        if scheme == "builtin" and not BUILTIN_NAME.fullmatch(reference.removeprefix(BUILTIN)):
            raise Refused("is not a bundled name", "builtin:NAME with NAME a plain word")
        if scheme in _WEB:
            self.check_url(reference)

    def check_url(self, url: str) -> None:
        """Refuse a URL to fetch whose scheme is not allowed, or whose host visibly is not."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            raise Refused("is not a valid URL", _EXAMPLE_URL) from None
        scheme = parts.scheme.lower()
        self.check_scheme(scheme)
        if scheme in _WEB:
            if not host:
                raise Refused("has no host", _EXAMPLE_URL)
            self.check_visible_host(host)

    def check_visible_host(self, host: str) -> None:
        """Judge what a host shows without a DNS lookup: an IP address in any notation,
        and the `localhost` names, which are loopback whatever a resolver says."""
        self.check_literal(host)
        if host.lower() in _LOCAL_HOSTS or host.lower().endswith(".localhost"):
            self.check_host(host, ["127.0.0.1"])

    def check_scheme(self, scheme: str) -> None:
        if scheme not in self.schemes:
            raise Refused(
                f"uses the {scheme} scheme, which is not "
                + ("allowed here" if scheme in KNOWN_SCHEMES else "supported"),
                f"one of the schemes {', '.join(sorted(self.schemes))} ({SCHEMES_ENV})",
            )

    def check_host(self, host: str, addresses: Iterable[str]) -> None:
        """Refuse `host` unless it is listed by name or every address it has is allowed.

        One refused address refuses the host: a public name that also resolves to an
        internal address is what a rebinding attack looks like.
        """
        if self._listed_name(host.lower().rstrip(".")):
            return
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if any(address in network for network in self.networks):
                continue
            kind = address_class(address)
            if kind is None and self.public:
                continue
            what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address" if kind else "not listed"
            subject = f"{host} is" if host == text else f"{host} resolves to {text},"
            allowed = "a public host, or one" if self.public else "a host"
            raise Refused(f"{subject} {what}", f"{allowed} listed in {self.variable}")

    def check_literal(self, host: str) -> None:
        """Check a host that is an IP address as written; names are checked on connect.

        An IPv4 address in another notation (`2130706433`, `0x7f.0.0.1`, `0177.0.0.1`,
        `127.1`) is refused whatever it is: resolvers and HTTP clients disagree on reading
        them, so an address that looks like a name to one is 127.0.0.1 to another.
        """
        bare = host.strip("[]")
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            if (dotted := other_notation(bare)) is not None:
                raise Refused(
                    f"{host} is the IP address {dotted} in another notation",
                    "a host name, or an IP address written as four decimal numbers",
                ) from None
            return
        self.check_host(bare, [bare])

    def _listed_name(self, host: str) -> bool:
        return any(
            host.endswith(name[1:]) if name.startswith("*.") else host == name
            for name in self.names
        )


def scheme_of(reference: str) -> str:
    """`builtin`, `stock`, a URL's scheme, or `file` for a plain path."""
    for prefix in (BUILTIN, STOCK):
        if reference.startswith(prefix):
            return prefix[:-1]
    scheme, separator, _ = reference.partition("://")
    return scheme.lower() if separator else LOCAL


def parse_hosts(text: str, variable: str) -> tuple[bool, tuple[str, ...], tuple[Network, ...]]:
    """A comma list of hosts as `variable` holds it: whether `public` is in it, the names
    (`cdn.example.com`, `*.example.com`) and the networks (addresses, CIDR)."""
    names: list[str] = []
    networks: list[Network] = []
    entries = _list(text)
    for entry in entries:
        if entry == PUBLIC:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            if not re.fullmatch(r"(\*\.)?[a-z0-9.-]+", entry):
                raise ValueError(
                    f"{variable}: {entry!r} is not a host name, IP address or CIDR "
                    "network; expected e.g. cdn.example.com, *.example.com, 10.0.0.0/8"
                ) from None
            names.append(entry)
    return PUBLIC in entries, tuple(names), tuple(networks)


def other_notation(host: str) -> str | None:
    """The dotted-decimal IPv4 address `host` spells in another notation, if it is one."""
    if not re.fullmatch(r"[0-9a-fA-FxX.]+", host) or not re.search(r"\d", host):
        return None
    try:
        return socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


def address_class(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why `address` is not public (`loopback`, `link-local`, ...), or None if it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    for kind in _CLASSES:
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if address.is_global else "non-public"


def parse_size(variable: str, text: str | None, default: int) -> int:
    """Bytes from an environment value such as `500000000`, `500MB` or `2G`."""
    if text is None or not text.strip():
        return default
    match = _SIZE.fullmatch(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{variable}: {text!r} is not a size; expected bytes such as 500MB")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _list(text: str) -> list[str]:
    return [item.strip().lower() for item in text.split(",") if item.strip()]
