#!/usr/bin/env python3
"""SMTP session fuzzer for tests/bench/fuzz-sessions.sh (the node must be running).

usage: fuzz-sessions.py PORT SESSIONS SEED CONCURRENCY CLOSE_BOUND_S ADDRESSES [TIME_LIMIT_S]

Each session i is generated from random.Random(SEED * 1_000_003 + i), so one session can be
replayed alone. A session is a list of steps: valid commands, mutated commands (random verbs,
over-long lines, binary bytes, bare CR/LF, NUL), pipelined junk, DATA with or without its
end, BDAT with wrong sizes, AUTH garbage, STARTTLS at odd times (with a real TLS handshake or
with garbage), and abrupt disconnects. Checks:
  - every reply line is a valid SMTP reply line (3-digit code 2xx-5xx, then space, hyphen or
    the end, CRLF-terminated; one code per multi-line reply; an enhanced status code, where the
    text starts with one, is well-formed and of the reply's class);
  - no hang: a session whose client goes silent (or says QUIT) is closed by the server within
    CLOSE_BOUND_S (the node's timeouts plus slack), whatever state it was left in.
Prints a summary ("key value" lines) and up to 20 examples of each kind of finding.
"""
import asyncio, collections, os, random, re, ssl, sys, time

PORT, SESSIONS, SEED, CONCURRENCY = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
CLOSE_BOUND, ADDRESSES = float(sys.argv[5]), int(sys.argv[6])
TIME_LIMIT = float(sys.argv[7]) if len(sys.argv) > 7 else 1e9
# FUZZ_ONLY="12,345": replay just these sessions (same seed) to look at a finding.
ONLY = [int(x) for x in os.environ.get("FUZZ_ONLY", "").split(",") if x.strip()]

REPLY_LINE = re.compile(rb"^([2-5][0-9][0-9])(?:([ -])(.*))?\r\n$", re.S)
ENHANCED = re.compile(rb"^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")
LOOKS_ENHANCED = re.compile(rb"^\d+\.\d")

TLS = ssl.create_default_context(); TLS.check_hostname = False; TLS.verify_mode = ssl.CERT_NONE

VERBS = [b"EHLO", b"HELO", b"MAIL", b"RCPT", b"DATA", b"BDAT", b"RSET", b"NOOP", b"QUIT", b"VRFY", b"HELP",
         b"STARTTLS", b"AUTH", b"EXPN", b"ETRN", b"TURN", b"XCLIENT", b"XFORWARD", b"ATRN", b"BURL", b"LHLO"]
VALID = [b"EHLO fuzz.sender.example", b"HELO fuzz", b"MAIL FROM:<fuzz@sender.example>",
         b"MAIL FROM:<fuzz@sender.example> SIZE=1000 BODY=8BITMIME", b"MAIL FROM:<> RET=HDRS ENVID=x",
         b"MAIL FROM:<fuzz@unknown.example>", b"MAIL FROM:<fuzz@nxdomain.invalid>",
         b"RCPT TO:<r@rcpt.example>", b"RCPT TO:<r@rcpt.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;r@rcpt.example",
         b"RCPT TO:<postmaster>", b"RSET", b"NOOP", b"VRFY r", b"HELP", b"AUTH PLAIN", b"AUTH LOGIN", b"STARTTLS", b"DATA", b"QUIT"]
ARGS = [b"", b" ", b":<>", b"FROM:<a@b>", b"TO:<a@b>", b" SIZE=-1", b" SIZE=99999999999999999999999", b" BODY=7BIT",
        b" <\"q\\\"uoted\"@x.example>", b" NOTIFY=NEVER,SUCCESS", b" ORCPT=rfc822;\xff\xfe", b" \x00\x01\x02",
        b" PLAIN =", b" PLAIN AGFhAGI=", b" LOGIN ####", b" CRAM-MD5", b" LAST", b" 0", b" -5", b" 1 LAST", b" 3 last",
        b"FROM:<" + b"a" * 300 + b"@x.example>", b" SMTPUTF8", b"FROM:<\xc3\xa4@sender.example> SMTPUTF8"]


def mutate(rng, line):
    """One random mutation of a command line."""
    k = rng.randrange(12)
    if k == 0: return rng.choice(VERBS) + rng.choice(ARGS)
    if k == 1: return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if k == 2: return line + b"x" * rng.choice([400, 507, 508, 600, 1100, 5000, 20000])
    if k == 3: return line.lower() if rng.random() < 0.5 else line.swapcase()
    if k == 4:
        i = rng.randrange(len(line) + 1); return line[:i] + rng.choice([b"\r", b"\n", b"\x00", b"\r\r", b"\x1b[2J"]) + line[i:]
    if k == 5: return line[: rng.randrange(len(line) + 1)]
    if k == 6: return b" " + line + b"   "
    if k == 7: return line.replace(b":", b": ", 1) if rng.random() < 0.5 else line.replace(b"<", b"", 1)
    if k == 8: return rng.choice(VERBS) + b" " + bytes(rng.randrange(32, 127) for _ in range(rng.randrange(0, 80)))
    if k == 9: return line + b"\r\n" + rng.choice(VALID)   # two commands in one
    if k == 10: return b"\xef\xbb\xbf" + line
    return line


def end(rng):
    r = rng.random()
    return b"\r\n" if r < 0.85 else (b"\n" if r < 0.95 else b"\r")


CODES = collections.Counter()   # reply codes seen, and a few events


class Finding(Exception):
    pass


class Session:
    def __init__(self, index):
        self.i = index
        self.rng = random.Random(SEED * 1_000_003 + index)
        self.buf = b""
        self.replies = 0
        self.tls = False
        self.closed = False
        self.stray_starttls = False

    async def connect(self):
        source = f"127.0.0.{1 + self.i % ADDRESSES}"
        self.r, self.w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT, local_addr=(source, 0)), 30)

    def check_line(self, line, code_of_reply):
        m = REPLY_LINE.match(line)
        if not m: raise Finding(f"invalid reply line {line[:120]!r}")
        code, sep, text = m.group(1), m.group(2), m.group(3) or b""
        if code_of_reply is not None and code != code_of_reply:
            raise Finding(f"code changed inside a multi-line reply: {code_of_reply!r} then {line[:120]!r}")
        if code[:1] in b"245" and LOOKS_ENHANCED.match(text):
            e = ENHANCED.match(text)
            if not e or e.group(1) != code[:1]:
                raise Finding(f"malformed enhanced status code in {line[:120]!r}")
        return code, sep

    async def read_reply(self, timeout):
        """One complete reply (list of lines), or None when the server closed; raises asyncio.TimeoutError."""
        lines, code = [], None
        deadline = time.monotonic() + timeout
        while True:
            while b"\n" not in self.buf:
                left = deadline - time.monotonic()
                if left <= 0: raise asyncio.TimeoutError()
                data = await asyncio.wait_for(self.r.read(65536), left)
                if not data:
                    self.closed = True
                    if self.buf or lines: raise Finding(f"connection closed inside a reply: {self.buf[:120]!r}")
                    return None
                self.buf += data
                if len(self.buf) > 100_000: raise Finding("reply longer than 100,000 octets")
            i = self.buf.index(b"\n") + 1
            line, self.buf = self.buf[:i], self.buf[i:]
            code, sep = self.check_line(line, code)
            lines.append(line)
            if sep != b"-":
                self.replies += 1
                CODES[code.decode()] += 1
                return lines

    async def drain(self, wait, more=0.02):
        """Reads the replies that arrive: the first within `wait` seconds, each further one within
        `more` seconds of the one before (pipelined commands); returns the last reply."""
        last = None
        while not self.closed:
            try:
                reply = await self.read_reply(wait if last is None else more)
            except asyncio.TimeoutError:
                return last
            if reply is None: return last
            last = reply
        return last

    async def send(self, data, tls_step=False):
        if self.closed: return
        # A STARTTLS sent other than by the TLS step (mutated, pipelined) makes the server wait for
        # a handshake that never comes: what happens to the connection after that is not a finding.
        if not tls_step and b"starttls" in data.lower(): self.stray_starttls = True
        try:
            self.w.write(data); await self.w.drain()
        except (ConnectionError, OSError):
            self.closed = True

    async def command(self, line):
        await self.send(line + end(self.rng))
        return await self.drain(1.0)

    async def starttls(self):
        await self.send(b"STARTTLS\r\n", tls_step=True)
        reply = await self.drain(5.0)
        if self.closed or not reply or not reply[-1].startswith(b"220"):
            # A 220 that comes later than that (a slow server, or an unfinished line before the
            # command) leaves the server waiting for a handshake the next steps do not make.
            if not self.closed and not reply: self.stray_starttls = True
            return
        if self.rng.random() < 0.25:
            await self.send(bytes(self.rng.randrange(256) for _ in range(self.rng.randrange(1, 300))))  # garbage, no handshake
            await self.drain(1.0); return
        t0 = time.monotonic()
        try:
            await asyncio.wait_for(self.w.start_tls(TLS), CLOSE_BOUND)
            self.tls = True; CODES["TLS handshakes"] += 1
        except (ssl.SSLError, ConnectionError, OSError, asyncio.TimeoutError) as e:
            if self.stray_starttls:
                CODES["TLS handshakes after a stray STARTTLS, failed as expected"] += 1; self.closed = True; return
            raise Finding(f"TLS handshake after 220 failed: {e!r} after {time.monotonic() - t0:.1f} s")

    async def data(self):
        reply = await self.command(b"DATA")
        in_data = reply is not None and reply[-1].startswith(b"354")
        body = [b"From: <fuzz@sender.example>", b"To: <r@rcpt.example>", b"Subject: fuzz " + str(self.i).encode(), b""]
        for _ in range(self.rng.randrange(0, 30)):
            k = self.rng.randrange(8)
            body.append([b"text line", b".", b"..", b".\r", b"\x00\x01binary\xff", b"x" * self.rng.choice([10, 998, 999, 1500, 70000]),
                         b"X-Bare: lf\nin line", b"X-Bare: cr\rin line"][k])
        payload = b"\r\n".join(body) + b"\r\n"
        r = self.rng.random()
        if r < 0.6: payload += b".\r\n"                    # proper end
        elif r < 0.7: payload += b"\n.\n"                  # bare-LF "end" (must not end the data)
        elif r < 0.8: payload = payload[: self.rng.randrange(len(payload) + 1)]  # truncated
        await self.send(payload)
        last = await self.drain(CLOSE_BOUND if in_data and r < 0.6 else 0.5)
        if in_data and last and b"queued as" in last[-1]: CODES["messages accepted"] += 1

    async def bdat(self):
        size = self.rng.choice([0, 1, 5, 100, 1000, 70000])
        actual = max(0, size + self.rng.choice([0, 0, -3, 3, -size, 50]))
        last = b" LAST" if self.rng.random() < 0.5 else b""
        await self.send(b"BDAT " + str(size).encode() + last + b"\r\n" + bytes(self.rng.randrange(256) for _ in range(actual)))
        await self.drain(0.5)

    async def auth(self):
        mech = self.rng.choice([b"PLAIN", b"LOGIN", b"plain", b"XOAUTH2", b"PLAIN AGZvbwBiYXI=", b"LOGIN ZnV6eg==", b"PLAIN ="])
        reply = await self.command(b"AUTH " + mech)
        for _ in range(self.rng.randrange(0, 3)):
            if self.closed or not reply or not reply[-1].startswith(b"334"): break
            reply = await self.command(self.rng.choice([b"*", b"====", b"AGZvbwBiYXI=", b"\xff\xfe", b"a" * 13000, b""]))

    async def run(self):
        rng = self.rng
        await self.connect()
        greeting = await self.read_reply(CLOSE_BOUND)
        if greeting is None: return "refused"
        if rng.random() < 0.8: await self.command(rng.choice(VALID[:2]))
        steps = rng.randrange(1, 14)
        for _ in range(steps):
            if self.closed: return "closed by server"
            k = rng.random()
            if k < 0.30: await self.command(rng.choice(VALID) if rng.random() < 0.4 else mutate(rng, rng.choice(VALID)))
            elif k < 0.40:   # pipelined junk
                await self.send(b"".join(mutate(rng, rng.choice(VALID)) + end(rng) for _ in range(rng.randrange(2, 30))))
                await self.drain(1.0, 0.1)
            elif k < 0.55:   # a valid transaction start, then DATA/BDAT
                await self.command(b"MAIL FROM:<fuzz@sender.example>")
                await self.command(b"RCPT TO:<r@rcpt.example>")
                await (self.data() if rng.random() < 0.6 else self.bdat())
            elif k < 0.62: await self.data()
            elif k < 0.69: await self.bdat()
            elif k < 0.76: await self.auth()
            elif k < 0.83: await self.starttls()
            elif k < 0.88:   # disconnect mid-command
                await self.send(mutate(rng, rng.choice(VALID))[: rng.randrange(1, 20)])
                self.w.close(); return "client disconnect"
            elif k < 0.93: await self.send(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))); await self.drain(0.3)
            else: await self.send(b"\r\n" * rng.randrange(1, 5) + b"\n" * rng.randrange(0, 5)); await self.drain(0.3)
        if self.closed: return "closed by server"
        # The end: QUIT, silence, or an abrupt close. After QUIT or silence the server must close within the bound.
        r = rng.random()
        if r < 0.15: self.w.close(); return "client disconnect"
        if r < 0.95: await self.send(b"QUIT\r\n")
        t0 = time.monotonic()
        while not self.closed:
            left = CLOSE_BOUND - (time.monotonic() - t0)
            try:
                if await self.read_reply(max(0.01, left)) is None: break
            except asyncio.TimeoutError:
                raise Finding(f"hang: connection still open {CLOSE_BOUND:.0f} s after the client went silent"
                              f" (tls={self.tls}, replies={self.replies}, buffered={self.buf[:60]!r})")
        return "closed by server"


async def main():
    stats = collections.Counter(); findings = collections.defaultdict(list)
    started = time.monotonic(); nxt = 0; done = 0; replies = 0
    last_report = started

    async def worker():
        nonlocal nxt, done, replies
        total = len(ONLY) if ONLY else SESSIONS
        while nxt < total and time.monotonic() - started < TIME_LIMIT:
            i = ONLY[nxt] if ONLY else nxt; nxt += 1
            s = Session(i)
            try:
                outcome = await s.run()
                stats[outcome] += 1
            except Finding as f:
                kind = str(f).split(":")[0]
                stats["finding: " + kind] += 1
                if len(findings[kind]) < 20: findings[kind].append(f"session {i}: {f}")
            except (ConnectionError, OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
                stats["client error: " + type(e).__name__] += 1
                if len(findings["client error"]) < 20: findings["client error"].append(f"session {i}: {e!r}")
            finally:
                try: s.w.close()
                except Exception: pass
            done += 1; replies += s.replies

    async def progress():
        while done < SESSIONS and time.monotonic() - started < TIME_LIMIT + CLOSE_BOUND * 2:
            await asyncio.sleep(15)
            print(f"  {time.monotonic() - started:.0f} s: {done} sessions done", file=sys.stderr, flush=True)

    reporter = asyncio.ensure_future(progress())
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    reporter.cancel()
    elapsed = time.monotonic() - started
    print(f"sessions {done}")
    print(f"seed {SEED}")
    print(f"duration_s {elapsed:.0f}")
    print(f"reply_lines_checked_replies {replies}")
    for k, v in sorted(stats.items()): print(f"outcome {k}: {v}")
    print("replies " + ", ".join(f"{k}: {v}" for k, v in sorted(CODES.items())))
    bad = sum(v for k, v in stats.items() if k.startswith("finding"))
    print(f"findings {bad}")
    for kind, examples in findings.items():
        for e in examples: print(f"  example {e}")
    sys.exit(1 if bad else 0)

asyncio.run(main())
