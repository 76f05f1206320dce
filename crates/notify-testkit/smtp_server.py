#!/usr/bin/env python3
"""A real SMTP server for notify's tests, built on aiosmtpd 1.4.6.

Listeners (each on a free 127.0.0.1 port, or base port + index with
--port-base) are described in a JSON config:

    {
      "outdir": "/tmp/out",             # <n>.eml + <n>.json per message, events.jsonl
      "certdir": "/tmp/certs",          # made with --make-certs
      "users": {"user@example.com": "password"},
      "tokens": {"user@example.com": "oauth-token"},          # XOAUTH2
      "auth_replies": {"me@gmail.com": "534 5.7.9 ..."},       # canned AUTH failure per login
      "listeners": [
        {"name": "starttls", "mode": "starttls", "cert": "leaf", "auth": true},
        {"name": "tls", "mode": "tls", "cert": "self"},
        {"name": "relay", "mode": "plain", "auth": false,
         "reject_rcpt": ["nobody@example.com"], "data_451": 1, "drop_after_data": false},
        {"name": "silent", "mode": "silent"}
      ]
    }

Modes: "plain" (no TLS; AUTH offered in the clear when "auth" is true),
"starttls" (STARTTLS required before MAIL, AUTH required and only after
STARTTLS), "tls" (implicit TLS, AUTH required), "silent" (accepts TCP and
never says a word). Per-listener faults: "reject_rcpt" (550 for these
recipients), "data_451" (451 after DATA the first N times, -1 always),
"drop_after_data" (close the connection after the message, before the
reply), "pipelining" (offer PIPELINING in EHLO), "smtputf8" (offer SMTPUTF8, off by
default as in aiosmtpd, so the default listener is a server without it), "close_after" (close the connection after N accepted messages, once
the reply is out), "slow_data" (seconds to wait after the 354 reply before reading the
message, so a big message fills the socket buffers), "slow_ack" (seconds to wait
after storing a message before its 250), "exclude_mechanisms" (e.g. ["PLAIN"]), "auth_required" (default:
true when "auth"). XOAUTH2 is offered on every AUTH listener and checks
"tokens".

Stuck servers (off by default; `cargo xtask faults` uses them, with
"slow_ack"): "no_greeting" (the share of connections, 0 to 1, that are
accepted but never greeted nor answered), "stall_data" (the share of
messages after whose 354 reply the server reads nothing more and never
answers), "fault_seed" (seeds the draws of those two, for a repeatable
run). Each drawn fault is logged as a "fault" event.

When listening it prints one line `READY {"ports": {...}}` and runs until
SIGTERM, SIGINT or EOF on stdin (--demo ignores stdin).

Certificates (openssl CLI): `--make-certs DIR` writes ca.pem (test CA),
leaf.pem/leaf.key (localhost, 127.0.0.1, ::1; signed by the CA, CA:FALSE),
self.pem/self.key (self-signed, CA:FALSE), wrongname.pem/.key (signed by
the CA for wrong.example only) and other-ca.pem (a CA that signed nothing
here). Existing complete directories are reused. A listener's "cert" may
also be "expiring" (valid for 5 more days) or "expired" (since yesterday):
those are made at each start, signed by the test CA, next to "outdir".
"""

import argparse
import asyncio
import base64
import itertools
import json
import logging
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword

CERT_NAMES = ["ca", "leaf", "self", "wrongname", "other-ca"]


# --------------------------------------------------------------------------
# Certificates


def _openssl(*args, cwd):
    subprocess.run(
        ["openssl", *args],
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _key(name, cwd):
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", f"{name}.key", cwd=cwd)


def _ext(cwd, name, text):
    with open(os.path.join(cwd, f"{name}.ext"), "w") as f:
        f.write(text)


LEAF_EXT = (
    "basicConstraints = critical, CA:FALSE\n"
    "keyUsage = critical, digitalSignature, keyEncipherment\n"
    "extendedKeyUsage = serverAuth\n"
    "subjectAltName = {san}\n"
)
CA_EXT = (
    "basicConstraints = critical, CA:TRUE\n"
    "keyUsage = critical, keyCertSign, cRLSign\n"
    "subjectKeyIdentifier = hash\n"
)


def _self_signed(name, subject, ext, cwd):
    _key(name, cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=cwd)
    _ext(cwd, name, ext)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-signkey", f"{name}.key", "-days", "3650",
        "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=cwd,
    )


def _signed(name, subject, ext, ca, cwd):
    _key(name, cwd)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", subject, "-out", f"{name}.csr", cwd=cwd)
    _ext(cwd, name, ext)
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "3650", "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        cwd=cwd,
    )


def make_certs(certdir):
    """Creates the test certificates in certdir unless they are there."""
    if all(os.path.exists(os.path.join(certdir, f"{n}.pem")) for n in CERT_NAMES):
        return
    parent = os.path.dirname(os.path.abspath(certdir)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".certs-", dir=parent)
    try:
        _self_signed("ca", "/CN=notify test CA", CA_EXT, tmp)
        san = "DNS:localhost, IP:127.0.0.1, IP:::1"
        _signed("leaf", "/CN=localhost", LEAF_EXT.format(san=san), "ca", tmp)
        _self_signed("self", "/CN=localhost", LEAF_EXT.format(san=san), tmp)
        _signed("wrongname", "/CN=wrong.example", LEAF_EXT.format(san="DNS:wrong.example"), "ca", tmp)
        _self_signed("other-ca", "/CN=notify other test CA", CA_EXT, tmp)
        try:
            os.rename(tmp, certdir)
        except OSError:
            # Another process made them meanwhile; use those.
            if not all(os.path.exists(os.path.join(certdir, f"{n}.pem")) for n in CERT_NAMES):
                raise
    except subprocess.CalledProcessError as e:
        sys.stderr.write(f"openssl failed: {e.cmd}: {e.stderr.decode(errors='replace')}\n")
        raise
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


# Certificates that depend on today's date, made at each start (signed by
# the test CA, for localhost): name -> validity in days from now.
DATED_CERTS = {"expiring": 5, "expired": -1}


def dated_cert(certdir, workdir, name):
    """Makes workdir/<name>.pem/.key unless there; returns workdir."""
    if os.path.exists(os.path.join(workdir, f"{name}.pem")):
        return workdir
    os.makedirs(workdir, exist_ok=True)
    san = "DNS:localhost, IP:127.0.0.1, IP:::1"
    _key(name, workdir)
    _openssl("req", "-new", "-key", f"{name}.key", "-subj", "/CN=localhost", "-out", f"{name}.csr", cwd=workdir)
    _ext(workdir, name, LEAF_EXT.format(san=san))
    _openssl(
        "x509", "-req", "-in", f"{name}.csr",
        "-CA", os.path.abspath(os.path.join(certdir, "ca.pem")),
        "-CAkey", os.path.abspath(os.path.join(certdir, "ca.key")),
        # A serial file of our own: the shared ca.srl is not ours to write.
        "-CAserial", f"{name}.srl", "-CAcreateserial",
        "-days", str(DATED_CERTS[name]), "-extfile", f"{name}.ext", "-out", f"{name}.pem",
        cwd=workdir,
    )
    return workdir


def server_context(certdir, cert, workdir):
    if cert in DATED_CERTS:
        certdir = dated_cert(certdir, workdir, cert)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certdir, f"{cert}.pem"), os.path.join(certdir, f"{cert}.key"))
    return ctx


# --------------------------------------------------------------------------
# Recording


class State:
    def __init__(self, config):
        self.outdir = config["outdir"]
        os.makedirs(self.outdir, exist_ok=True)
        # Where the dated certificates of this run are made.
        self.certwork = os.path.abspath(self.outdir) + "-certs"
        self.users = {k: v for k, v in config.get("users", {}).items()}
        self.tokens = dict(config.get("tokens", {}))
        self.auth_replies = dict(config.get("auth_replies", {}))
        self.messages = itertools.count(1)
        self.connections = itertools.count(1)
        self.events = open(os.path.join(self.outdir, "events.jsonl"), "a", buffering=1)

    def event(self, **fields):
        self.events.write(json.dumps(fields) + "\n")
        self.events.flush()

    def save(self, envelope, meta):
        n = next(self.messages)
        for ext, data in (("eml", envelope.original_content), ("json", json.dumps(meta, indent=1).encode())):
            path = os.path.join(self.outdir, f"{n}.{ext}")
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
        return n


def is_tls(server, session):
    if session.ssl is not None:
        return True
    transport = server.transport
    return transport is not None and transport.get_extra_info("ssl_object") is not None


class Handler:
    def __init__(self, spec, state):
        self.spec = spec
        self.state = state
        self.name = spec["name"]
        self.reject = {a.lower() for a in spec.get("reject_rcpt", [])}
        self.data_451 = int(spec.get("data_451", 0))
        self.data_451_seen = 0
        self.drop_after_data = bool(spec.get("drop_after_data", False))
        self.close_after = int(spec.get("close_after", 0))
        self.pipelining = bool(spec.get("pipelining", False))
        self.slow_ack = float(spec.get("slow_ack", 0))
        self.no_greeting = float(spec.get("no_greeting", 0))
        self.stall_data = float(spec.get("stall_data", 0))
        self.fault_draws = random.Random(spec.get("fault_seed"))

    def draw(self, share):
        """Whether a fault that hits `share` (0 to 1) of the time hits now."""
        return share > 0 and self.fault_draws.random() < share

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # With this hook aiosmtpd leaves the host name to it.
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads one command line at a time, so it serves
            # pipelined commands; it only never says so.
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_AUTH(self, server, session, envelope, args):
        self.state.event(listener=self.name, conn=server.conn_id, event="auth", mechanism=args[0].upper())
        return MISSING

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient table"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.data_451 < 0 or self.data_451_seen < self.data_451:
            self.data_451_seen += 1
            return "451 4.3.0 Temporary failure, please try again later"
        login = None
        if session.auth_data is not None:
            login = getattr(session.auth_data, "login", None)
            if isinstance(login, bytes):
                login = login.decode("utf-8", "replace")
        meta = {
            "listener": self.name,
            "conn": server.conn_id,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "mail_options": envelope.mail_options,
            "auth_login": login,
            "tls": is_tls(server, session),
            "helo": session.host_name,
            "dropped": self.drop_after_data,
        }
        n = self.state.save(envelope, meta)
        if self.slow_ack:
            await asyncio.sleep(self.slow_ack)
        if self.drop_after_data:
            server.transport.abort()
        server.accepted = getattr(server, "accepted", 0) + 1
        if self.close_after and server.accepted >= self.close_after:
            # As a server with an idle timeout or a per-connection limit:
            # the reply goes out, then the connection is closed.
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return f"250 2.0.0 Ok: queued as Q{n:05d}"

    # XOAUTH2 (Google's and Microsoft's): "user=U\x01auth=Bearer T\x01\x01".
    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        try:
            text = base64.b64decode(blob, validate=True).decode("utf-8")
            fields = dict(part.split("=", 1) for part in text.split("\x01") if part)
            user = fields["user"]
            token = fields["auth"].removeprefix("Bearer ")
        except Exception:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode XOAUTH2 response")
        canned = self.state.auth_replies.get(user)
        if canned is None and self.state.tokens.get(user) == token:
            return AuthResult(success=True, auth_data=LoginPassword(user.encode(), b""))
        # Like Google: an error challenge with JSON details, then 535 after
        # the client's empty answer.
        detail = json.dumps({"status": "401", "schemes": "bearer", "scope": "https://mail.example/"})
        await server.challenge_auth(detail)
        return AuthResult(
            success=False,
            handled=False,
            message=canned or "535 5.7.8 Username and Password not accepted (XOAUTH2)",
        )


class RecordingSMTP(SMTP):
    """SMTP that gives each connection an id and logs every command verb."""

    def __init__(self, handler, *, listener, state, slow_data=0.0, **kwargs):
        super().__init__(handler, **kwargs)
        self.listener = listener
        self.state = state
        self.slow_data = slow_data
        self.conn_id = None
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._recorded(verb, method)

    def _recorded(self, verb, method):
        async def recorded(arg):
            self.state.event(listener=self.listener, conn=self.conn_id, event="command", verb=verb)
            return await method(arg)

        return recorded

    def connection_made(self, transport):
        if self.conn_id is None:
            self.conn_id = next(self.state.connections)
            self.state.event(listener=self.listener, conn=self.conn_id, event="connect")
        super().connection_made(transport)

    async def push(self, status):
        handler = self.event_handler
        if not getattr(self, "greeted", False):
            # The first reply of a connection is its greeting.
            self.greeted = True
            if handler.draw(handler.no_greeting):
                self.state.event(listener=self.listener, conn=self.conn_id, event="fault", fault="no_greeting")
                await self.stuck()
        await super().push(status)
        # AUTH challenges come as bytes; replies to commands as str.
        is_354 = isinstance(status, str) and status.startswith("354")
        if self.slow_data and is_354:
            await asyncio.sleep(self.slow_data)
        if is_354 and handler.draw(handler.stall_data):
            self.state.event(listener=self.listener, conn=self.conn_id, event="fault", fault="stall_data")
            await self.stuck()

    async def stuck(self):
        """Reads nothing and answers nothing until the client goes away
        (the connection's loss cancels this)."""
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            # The client closed its side: close ours, so the connection
            # ends (and its "close" event is logged) in every state.
            if self.transport is not None:
                self.transport.close()
            raise

    def connection_lost(self, exc):
        # Clients may close right after QUIT without reading the 221: tests
        # wait for this event before they look at the commands.
        self.state.event(listener=self.listener, conn=self.conn_id, event="close")
        super().connection_lost(exc)


def make_authenticator(state):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        canned = state.auth_replies.get(login)
        if canned is not None:
            return AuthResult(success=False, handled=False, message=canned)
        if state.users.get(login) == password:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)

    return authenticator


# --------------------------------------------------------------------------
# Listeners


class Silent(asyncio.Protocol):
    """Accepts the connection, reads everything, never answers."""

    def __init__(self, state, name):
        self.state = state
        self.name = name

    def connection_made(self, transport):
        self.transport = transport
        self.state.event(listener=self.name, conn=next(self.state.connections), event="connect")

    def data_received(self, data):
        pass


async def start_listener(loop, spec, state, certdir, port):
    name = spec["name"]
    mode = spec.get("mode", "plain")
    if mode == "silent":
        server = await loop.create_server(lambda: Silent(state, name), "127.0.0.1", port)
        return server
    auth = bool(spec.get("auth", mode != "plain"))
    auth_required = bool(spec.get("auth_required", auth))
    handler = Handler(spec, state)
    kwargs = dict(
        hostname=spec.get("hostname", "mx.test.invalid"),
        listener=name,
        state=state,
        auth_exclude_mechanism=spec.get("exclude_mechanisms", []),
        slow_data=float(spec.get("slow_data", 0)),
        enable_SMTPUTF8=bool(spec.get("smtputf8", False)),
        loop=loop,
    )
    if auth:
        kwargs["authenticator"] = make_authenticator(state)
    kwargs["auth_required"] = auth_required
    ssl_ctx = None
    if mode == "plain":
        # Offer AUTH in the clear only when this listener does AUTH at all.
        kwargs["auth_require_tls"] = not auth
    elif mode == "starttls":
        kwargs["tls_context"] = server_context(certdir, spec.get("cert", "leaf"), state.certwork)
        kwargs["require_starttls"] = True
        kwargs["auth_require_tls"] = True
    elif mode == "tls":
        ssl_ctx = server_context(certdir, spec.get("cert", "leaf"), state.certwork)
        # aiosmtpd only counts STARTTLS as TLS: with True it would never
        # offer AUTH on an implicit-TLS listener.
        kwargs["auth_require_tls"] = False
    else:
        raise SystemExit(f"unknown mode {mode!r} for listener {name!r}")
    if not auth:
        kwargs.pop("auth_required")
    return await loop.create_server(
        lambda: RecordingSMTP(handler, **kwargs), "127.0.0.1", port, ssl=ssl_ctx
    )


async def serve(config, watch_stdin, port_base, human):
    loop = asyncio.get_running_loop()
    state = State(config)
    certdir = config.get("certdir")
    servers = {}
    for i, spec in enumerate(config["listeners"]):
        port = port_base + i if port_base else 0
        servers[spec["name"]] = await start_listener(loop, spec, state, certdir, port)
    ports = {name: s.sockets[0].getsockname()[1] for name, s in servers.items()}
    print("READY " + json.dumps({"ports": ports}), flush=True)
    if human:
        print_human(config, ports)

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if watch_stdin:
        def wait_for_eof():
            try:
                sys.stdin.buffer.read()
            finally:
                loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=wait_for_eof, daemon=True).start()
    await stop.wait()
    for s in servers.values():
        s.close()


def print_human(config, ports):
    certdir = config.get("certdir")
    print()
    for spec in config["listeners"]:
        mode = spec.get("mode", "plain")
        security = {"plain": "none", "starttls": "starttls", "tls": "tls"}.get(mode, mode)
        print(f"  {spec['name']:<10} server = \"127.0.0.1:{ports[spec['name']]}\"  security = \"{security}\"")
    for user, password in config.get("users", {}).items():
        print(f"  login      username = \"{user}\"  password = \"{password}\"")
    if certdir:
        print(f"  CA         ca_file = \"{os.path.join(certdir, 'ca.pem')}\"")
    print(f"  messages   {config['outdir']}/<n>.eml and <n>.json")
    print("  stop with Ctrl-C", flush=True)


def demo_config(state_dir):
    certdir = os.path.join(state_dir, "certs")
    make_certs(certdir)
    return {
        "outdir": os.path.join(state_dir, "mail"),
        "certdir": certdir,
        "users": {"user@example.com": "password"},
        "tokens": {"user@example.com": "token"},
        "listeners": [
            {"name": "relay", "mode": "plain", "auth": False},
            {"name": "starttls", "mode": "starttls", "cert": "leaf"},
            {"name": "tls", "mode": "tls", "cert": "leaf"},
        ],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", help="JSON config file (see the module docs)")
    parser.add_argument("--make-certs", metavar="DIR", help="create the test certificates in DIR and exit")
    parser.add_argument("--demo", metavar="STATE_DIR", help="relay, STARTTLS and TLS listeners for manual tests")
    parser.add_argument("--port-base", type=int, default=0, help="listen on BASE, BASE+1, ... instead of free ports")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    if args.make_certs:
        make_certs(args.make_certs)
        return
    if args.demo:
        config = demo_config(args.demo)
        asyncio.run(serve(config, watch_stdin=False, port_base=args.port_base, human=True))
        return
    if not args.config:
        parser.error("give --config FILE, --demo DIR or --make-certs DIR")
    with open(args.config) as f:
        config = json.load(f)
    asyncio.run(serve(config, watch_stdin=True, port_base=args.port_base, human=False))


if __name__ == "__main__":
    main()
