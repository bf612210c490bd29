#!/usr/bin/env python3
"""gen_noise_vectors: an independent, deliberately plain Noise reference (rev 34)
written from the spec over Python's hashlib/hmac and the `cryptography` package
(OpenSSL X25519 and ChaCha20-Poly1305), used to write extra vector files in the
cacophony/snow JSON layout for tests/prog/noise_vectors.

  gen_noise_vectors.py check FILE   replay an existing vectors file (validates
                                    this reference against published vectors)
  gen_noise_vectors.py gen > FILE   write vectors for every fundamental pattern,
                                    psk modifier and both hashes (deterministic)

It is a developer tool: the generated JSON is committed and `make test-vectors`
runs it; this script is not needed to build or test."""
import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization

RAW = serialization.Encoding.Raw
PUB = serialization.PublicFormat.Raw

# Noise spec §7.4, §7.5: (initiator pre-message, responder pre-message, messages)
PATTERNS = {
    "N": ("", "s", ["e es"]),
    "K": ("s", "s", ["e es ss"]),
    "X": ("", "s", ["e es s ss"]),
    "NN": ("", "", ["e", "e ee"]),
    "NK": ("", "s", ["e es", "e ee"]),
    "NX": ("", "", ["e", "e ee s es"]),
    "XN": ("", "", ["e", "e ee", "s se"]),
    "XK": ("", "s", ["e es", "e ee", "s se"]),
    "XX": ("", "", ["e", "e ee s es", "s se"]),
    "KN": ("s", "", ["e", "e ee se"]),
    "KK": ("s", "s", ["e es ss", "e ee se"]),
    "KX": ("s", "", ["e", "e ee se s es"]),
    "IN": ("", "", ["e s", "e ee se"]),
    "IK": ("", "s", ["e es s ss", "e ee se"]),
    "IX": ("", "", ["e s", "e ee se s es"]),
}


def pub_of(priv):
    return X25519PrivateKey.from_private_bytes(priv).public_key().public_bytes(RAW, PUB)


def dh(priv, pub):
    return X25519PrivateKey.from_private_bytes(priv).exchange(X25519PublicKey.from_public_bytes(pub))


class Sym:
    def __init__(self, name, hname):
        self.H = hashlib.blake2b if hname == "BLAKE2b" else hashlib.sha256
        self.hl = 64 if hname == "BLAKE2b" else 32
        nb = name.encode()
        self.h = nb + b"\0" * (self.hl - len(nb)) if len(nb) <= self.hl else self.H(nb).digest()
        self.ck = self.h
        self.k = None
        self.n = 0

    def hkdf(self, ikm, num):
        tk = hmac.new(self.ck, ikm, self.H).digest()
        o1 = hmac.new(tk, b"\x01", self.H).digest()
        o2 = hmac.new(tk, o1 + b"\x02", self.H).digest()
        o3 = hmac.new(tk, o2 + b"\x03", self.H).digest()
        return (o1, o2, o3)[:num]

    def mix_hash(self, data):
        self.h = self.H(self.h + data).digest()

    def mix_key(self, ikm):
        self.ck, tk = self.hkdf(ikm, 2)
        self.k, self.n = tk[:32], 0

    def mix_key_and_hash(self, ikm):
        self.ck, th, tk = self.hkdf(ikm, 3)
        self.mix_hash(th)
        self.k, self.n = tk[:32], 0

    def enc(self, pt):
        if self.k is None:
            ct = pt
        else:
            ct = encrypt(self.k, self.n, self.h, pt)
            self.n += 1
        self.mix_hash(ct)
        return ct

    def dec(self, ct):
        if self.k is None:
            pt = ct
        else:
            pt = ChaCha20Poly1305(self.k).decrypt(nonce(self.n), ct, self.h)
            self.n += 1
        self.mix_hash(ct)
        return pt

    def split(self):
        k1, k2 = self.hkdf(b"", 2)
        return k1[:32], k2[:32]


def nonce(n):
    return b"\0" * 4 + n.to_bytes(8, "little")


def encrypt(k, n, ad, pt):
    return ChaCha20Poly1305(k).encrypt(nonce(n), pt, ad)


def parse(name):
    parts = name.split("_")
    assert parts[0] == "Noise" and parts[2] == "25519" and parts[3] == "ChaChaPoly", name
    p = parts[1]
    base = "".join(c for c in p if c.isupper())
    mods = [m for m in p[len(base):].split("+") if m]
    psk_pos = [int(m[3:]) for m in mods]
    assert all(m.startswith("psk") for m in mods), name
    return base, psk_pos, parts[4]


def message_tokens(base, psk_pos):
    msgs = [m.split() for m in PATTERNS[base][2]]
    for pos in psk_pos:
        if pos == 0:
            msgs[0].insert(0, "psk")
        else:
            msgs[pos - 1].append("psk")
    return msgs


class Party:
    def __init__(self, v, side, initiator):
        self.name = v["protocol_name"]
        self.base, self.psk_pos, hname = parse(self.name)
        self.init = initiator
        self.sym = Sym(self.name, hname)
        g = lambda k: bytes.fromhex(v[side + "_" + k]) if (side + "_" + k) in v else None
        self.s = g("static")
        self.e = g("ephemeral")
        self.rs = g("remote_static")
        self.re = None
        self.psks = [bytes.fromhex(x) for x in v.get(side + "_psks", [])]
        self.sym.mix_hash(bytes.fromhex(v[side + "_prologue"]))
        pre_i, pre_r = PATTERNS[self.base][0], PATTERNS[self.base][1]
        if pre_i:
            self.sym.mix_hash(pub_of(self.s) if initiator else self.rs)
        if pre_r:
            self.sym.mix_hash(self.rs if initiator else pub_of(self.s))
        self.msgs = message_tokens(self.base, self.psk_pos)
        self.i = 0

    def dh_token(self, t):
        if t == "ee":
            return dh(self.e, self.re)
        if t == "ss":
            return dh(self.s, self.rs)
        if (t == "es") == self.init:
            return dh(self.e, self.rs)
        return dh(self.s, self.re)

    def write(self, payload):
        out = b""
        for t in self.msgs[self.i]:
            if t == "e":
                out += pub_of(self.e)
                self.sym.mix_hash(pub_of(self.e))
                if self.psk_pos:
                    self.sym.mix_key(pub_of(self.e))
            elif t == "s":
                out += self.sym.enc(pub_of(self.s))
            elif t == "psk":
                self.sym.mix_key_and_hash(self.psks.pop(0))
            else:
                self.sym.mix_key(self.dh_token(t))
        self.i += 1
        return out + self.sym.enc(payload)

    def read(self, msg):
        for t in self.msgs[self.i]:
            if t == "e":
                self.re, msg = msg[:32], msg[32:]
                self.sym.mix_hash(self.re)
                if self.psk_pos:
                    self.sym.mix_key(self.re)
            elif t == "s":
                n = 48 if self.sym.k is not None else 32
                self.rs, msg = self.sym.dec(msg[:n]), msg[n:]
            elif t == "psk":
                self.sym.mix_key_and_hash(self.psks.pop(0))
            else:
                self.sym.mix_key(self.dh_token(t))
        self.i += 1
        return self.sym.dec(msg)

    def done(self):
        return self.i == len(self.msgs)


def run(v):
    """Replay v, returning (ciphertexts, handshake_hash)."""
    ini, resp = Party(v, "init", True), Party(v, "resp", False)
    one_way = len(ini.base) == 1
    cts, hh, keys, ctr = [], None, None, [0, 0]
    for idx, m in enumerate(v["messages"]):
        payload = bytes.fromhex(m["payload"])
        by_init = one_way or idx % 2 == 0
        w, r = (ini, resp) if by_init else (resp, ini)
        if keys is None:
            ct = w.write(payload)
            assert r.read(ct) == payload
            if ini.done():
                assert resp.done() and ini.sym.h == resp.sym.h
                hh, keys = ini.sym.h, ini.sym.split()
        else:
            d = 0 if by_init else 1
            ct = encrypt(keys[d], ctr[d], b"", payload)
            ctr[d] += 1
        cts.append(ct)
    return cts, hh


def check(path):
    vs = json.load(open(path))["vectors"]
    for v in vs:
        cts, hh = run(v)
        ok = [c.hex() == m["ciphertext"] for c, m in zip(cts, v["messages"])]
        ok.append(hh.hex() == v.get("handshake_hash", hh.hex()))
        print(v["protocol_name"], "ok" if all(ok) else "MISMATCH %s" % ok)
        if not all(ok):
            return 1
    return 0


def det(label, n):
    return hashlib.sha512(b"wormhole noise vectors " + label.encode()).digest()[:n]


def make_vector(base, mods, hname):
    name = "Noise_%s%s_25519_ChaChaPoly_%s" % (base, "+".join(mods), hname)
    pre_i, pre_r, msgs = PATTERNS[base]
    li = base[0]
    lr = base[1] if len(base) == 2 else "K"
    v = {"protocol_name": name}
    v["init_prologue"] = det(name + "prologue", 11).hex()
    v["resp_prologue"] = v["init_prologue"]
    if mods:
        psks = [det(name + "psk%d" % i, 32).hex() for i in range(len(mods))]
        v["init_psks"], v["resp_psks"] = psks, list(psks)
    si, sr = det(name + "is", 32), det(name + "rs", 32)
    if li != "N":
        v["init_static"] = si.hex()
    if lr != "N":
        v["resp_static"] = sr.hex()
    v["init_ephemeral"] = det(name + "ie", 32).hex()
    v["resp_ephemeral"] = det(name + "re", 32).hex()
    if lr == "K":
        v["init_remote_static"] = pub_of(sr).hex()
    if li == "K":
        v["resp_remote_static"] = pub_of(si).hex()
    count = len(msgs) + 3
    v["messages"] = [{"payload": det(name + "p%d" % i, i * 7 % 23).hex(), "ciphertext": ""}
                     for i in range(count)]
    cts, hh = run(v)
    for c, m in zip(cts, v["messages"]):
        m["ciphertext"] = c.hex()
    v["handshake_hash"] = hh.hex()
    return v


def gen():
    out = []
    for base, (_, _, msgs) in PATTERNS.items():
        modsets = [[]] + [["psk%d" % i] for i in range(len(msgs) + 1)]
        if len(msgs) >= 2:
            modsets.append(["psk0", "psk2"])
        for mods in modsets:
            for hname in ("BLAKE2b", "SHA256"):
                out.append(make_vector(base, mods, hname))
    json.dump({"vectors": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2]))
    if len(sys.argv) == 2 and sys.argv[1] == "gen":
        sys.exit(gen())
    sys.stderr.write(__doc__)
    sys.exit(2)
