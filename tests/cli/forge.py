#!/usr/bin/env python3
"""forge.py: build hostile xch bundles for the threat tests (t0011).

Standard library only; OpenPGP work is done by the gpg on PATH, each
party with its own --homedir. The bundle format is xch-bundle(5): a ustar
container holding exactly payload.gpg, envelope.json and envelope.sig.

  forge.py regions BUNDLE
      print "NAME OFFSET" lines: where each part of the container starts
      (payload_hdr payload envelope_hdr envelope sig_hdr sig end size),
      the sizes of the three members (NAME_size), and inside envelope.sig
      its subpacket areas, the digest's left 16 bits and the first MPI
      (sig_hashed sig_unhashed sig_left16 sig_mpi)
  forge.py flip FILE OFFSET [MASK]
      xor the byte at OFFSET (negative: from the end) with MASK (0x01)
  forge.py split BUNDLE DIR
      write payload.gpg, envelope.json, envelope.sig into DIR
  forge.py container OUT PAYLOAD ENVELOPE SIG
      write a well-formed container of those three files
  forge.py payload --from DIR --case CASE OUT
      write a payload archive (gzip'd tar) built from an opened bundle DIR
      (manifest.json, records/, attachments/), spoiled as CASE says
  forge.py bundle --base BUNDLE --from DIR --case CASE --gnupghome H
                  --signer FPR --recipient FPR [--recipient FPR...]
                  [--pad N] [--cut N] OUT
      a complete bundle: the CASE payload signed by FPR and encrypted to
      the recipients, the envelope of BASE with the new payload's size and
      hash, signed again by FPR: everything a sender's key can vouch for.
      --pad N appends N random bytes after the archive (a payload larger
      than a pipe buffer); --cut N keeps N bytes of payload.gpg
  forge.py resign --base BUNDLE --gnupghome H --signer FPR
                  [--set KEY=STRING...] [--set-int KEY=N...] OUT
      the payload of BASE unchanged, its envelope (fields changed by
      --set and --set-int) signed by FPR
  forge.py forward --base BUNDLE --gnupghome H --signer FPR --recipient FPR OUT
      surreptitious forwarding: H holds a recipient's key; strip the
      encryption layer (gpg --unwrap), keep the sender's signed message
      as it is, encrypt it to the new recipient and write a new envelope
      signed by FPR (the forwarder, who names itself as the sender)

Cases (payload): ok, dotdot, absolute, symlink, hardlink, device, fifo,
directory, duplicate, case, bigger, sha, reorder, extra, missing, counts, notfirst,
bomb-header, bomb-manifest, bomb-tail, tail-garbage, not-gzip, bad-deflate,
manifest-dupkey, empty.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import zlib

BLOCK = 512
RECORD = 10240
NAMES = ("payload.gpg", "envelope.json", "envelope.sig")


def die(msg):
    sys.stderr.write("forge.py: %s\n" % msg)
    sys.exit(2)


# ---- the outer container ------------------------------------------------

def octal(value, width):
    return ("%0*o" % (width - 1, value)).encode() + b"\0"


def ustar_header(name, size, mtime=1700000000):
    h = bytearray(BLOCK)
    h[0:len(name)] = name.encode()
    h[100:108] = octal(0o644, 8)
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = octal(size, 12)
    h[136:148] = octal(mtime, 12)
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[329:337] = octal(0, 8)
    h[337:345] = octal(0, 8)
    h[148:156] = b" " * 8
    h[148:156] = ("%06o" % sum(h)).encode() + b"\0 "
    return bytes(h)


def pad(n):
    return b"\0" * ((BLOCK - n % BLOCK) % BLOCK)


def container_bytes(parts):
    out = bytearray()
    for name, data in zip(NAMES, parts):
        out += ustar_header(name, len(data)) + data + pad(len(data))
    out += b"\0" * (2 * BLOCK)
    out += b"\0" * ((RECORD - len(out) % RECORD) % RECORD)
    return bytes(out)


def regions(data):
    """Offsets of the container's parts, read as a plain ustar tar."""
    off, r = 0, {}
    for key, name in zip(("payload", "envelope", "sig"), NAMES):
        h = data[off:off + BLOCK]
        if len(h) < BLOCK or h[0:len(name) + 1] != name.encode() + b"\0":
            die("not an xch container: no '%s' at %d" % (name, off))
        size = int(h[124:136].rstrip(b"\0 ").decode(), 8)
        r[key + "_hdr"] = off
        r[key] = off + BLOCK
        r[key + "_size"] = size
        off += BLOCK + size + (BLOCK - size % BLOCK) % BLOCK
    r["end"] = off
    r["size"] = len(data)
    sig_parts(r, data[r["sig"]:r["sig"] + r["sig_size"]])
    return r


def sig_parts(r, sig):
    """Offsets inside envelope.sig, a v4 signature packet: its hashed and
    unhashed subpacket areas, the digest's left 16 bits, the first MPI."""
    if not sig or not sig[0] & 0x80:
        return
    if sig[0] & 0x40:  # new format header
        hlen = 2 if sig[1] < 192 else 3 if sig[1] < 224 else 6
    else:
        hlen = 1 + (1, 2, 4, 0)[sig[0] & 3]
    body = r["sig"] + hlen
    if len(sig) < hlen + 6 or sig[hlen] != 4:
        return
    hashed = int.from_bytes(sig[hlen + 4:hlen + 6], "big")
    unhashed_at = hlen + 6 + hashed
    unhashed = int.from_bytes(sig[unhashed_at:unhashed_at + 2], "big")
    r["sig_hashed"] = body + 6
    r["sig_unhashed"] = r["sig"] + unhashed_at
    r["sig_left16"] = r["sig"] + unhashed_at + 2 + unhashed
    r["sig_mpi"] = r["sig_left16"] + 2


def split(data):
    r = regions(data)
    return [data[r[k]:r[k] + r[k + "_size"]] for k in ("payload", "envelope", "sig")]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


# ---- gpg ------------------------------------------------------------------

def gpg(home, *args, data=None):
    cmd = ["gpg", "--homedir", home, "--batch", "--no-tty", "--quiet",
           "--no-permission-warning", "--trust-model", "always"] + list(args)
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        die("gpg %s failed: %s" % (" ".join(args), p.stderr.decode(errors="replace").strip()))
    return p.stdout


def sign_encrypt(home, signer, recipients, data):
    args = ["--compress-algo", "none", "--local-user", signer]
    for r in recipients:
        args += ["--recipient", r]
    return gpg(home, *args, "--sign", "--encrypt", "--output", "-", data=data)


def sign_detached(home, signer, data):
    return gpg(home, "--local-user", signer, "--detach-sign", "--output", "-", data=data)


def encryption_keyid(home, fpr):
    """The key id of the newest valid encryption subkey of fpr."""
    out = gpg(home, "--with-colons", "--list-keys", fpr).decode()
    best = None
    for line in out.splitlines():
        f = line.split(":")
        if f[0] == "sub" and "e" in f[11] and f[1] not in ("e", "r", "i"):
            if best is None or int(f[5]) >= best[0]:
                best = (int(f[5]), f[4].upper())
    if not best:
        die("no encryption subkey for %s" % fpr)
    return best[1]


def envelope_bytes(env):
    return json.dumps(env, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def with_payload(env, payload):
    env = dict(env)
    env["payload"] = {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    return env


# ---- the payload archive --------------------------------------------------

def canonical(obj):
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def tar_entry(name, data=b"", kind=tarfile.REGTYPE, linkname="", size=None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = 0o644
    ti.mtime = 1700000000
    ti.linkname = linkname
    ti.size = len(data) if size is None else size
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = 1, 3
    return ti


def tar_bytes(entries, end=True):
    """entries: (TarInfo, data) pairs, written as they are (data may be shorter than declared)."""
    out = bytearray()
    for ti, data in entries:
        out += ti.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        if ti.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
            out += data + pad(len(data))
    if end:
        out += b"\0" * (2 * BLOCK)
        out += b"\0" * ((RECORD - len(out) % RECORD) % RECORD)
    return bytes(out)


def gz(data):
    return gzip.compress(data, compresslevel=6, mtime=0)


def zeros_member(n):
    """A gzip member of n zero bytes, made without holding them all."""
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    parts = []
    for _ in range(n >> 20):
        parts.append(c.compress(chunk))
    parts.append(c.compress(b"\0" * (n & ((1 << 20) - 1))))
    parts.append(c.flush())
    return b"".join(parts)


def load_opened(d):
    manifest = json.loads(read(os.path.join(d, "manifest.json")))
    files = [(e["path"], read(os.path.join(d, e["path"]))) for e in manifest["entries"]]
    return manifest, files


def build_payload(d, case, pad_bytes=0):
    data = build_case(d, case)
    if pad_bytes:
        # incompressible bytes after the archive: a payload larger than any
        # pipe buffer, so the reader stops while gpg is still writing
        data += gz(os.urandom(pad_bytes))
    return data


def build_case(d, case):
    manifest, files = load_opened(d)
    mbytes = canonical(manifest)
    first_path, first_data = files[0]
    entries = [(tar_entry("manifest.json", mbytes), mbytes)]
    rest = [(tar_entry(p, b), b) for p, b in files]

    def tgz(es, end=True):
        return gz(tar_bytes(es, end))

    def hostile(ti, data=b""):
        return tgz(entries + [(ti, data)] + rest)

    if case == "ok":
        return tgz(entries + rest)
    if case == "dotdot":
        return hostile(tar_entry("records/../../evil.json", b"{}"), b"{}")
    if case == "absolute":
        return hostile(tar_entry("/tmp/evil.json", b"{}"), b"{}")
    if case == "symlink":
        return hostile(tar_entry(first_path, kind=tarfile.SYMTYPE, linkname="/etc/passwd"))
    if case == "hardlink":
        return hostile(tar_entry(first_path, kind=tarfile.LNKTYPE, linkname="manifest.json"))
    if case == "device":
        return hostile(tar_entry(first_path, kind=tarfile.CHRTYPE))
    if case == "fifo":
        return hostile(tar_entry(first_path, kind=tarfile.FIFOTYPE))
    if case == "directory":
        return hostile(tar_entry("records", kind=tarfile.DIRTYPE))
    if case == "duplicate":
        return tgz(entries + rest[:1] + rest)
    if case == "case":
        d0, s = os.path.split(first_path)
        return tgz(entries + rest + [(tar_entry(d0 + "/" + s.lower(), first_data), first_data)])
    if case == "bigger":
        big = first_data + b" " * 100
        return tgz(entries + [(tar_entry(first_path, big), big)] + rest[1:])
    if case == "sha":
        same = first_data[:-2] + (b"X" if first_data[-2:-1] != b"X" else b"Y") + first_data[-1:]
        return tgz(entries + [(tar_entry(first_path, same), same)] + rest[1:])
    if case == "reorder":
        return tgz(entries + rest[1:2] + rest[:1] + rest[2:])
    if case == "extra":
        return tgz(entries + rest + [(tar_entry("records/EXTRA-0001.json", first_data), first_data)])
    if case == "missing":
        return tgz(entries + rest[:-1])
    if case == "counts":
        m = dict(manifest)
        m["counts"] = dict(m["counts"], records=m["counts"]["records"] + 1)
        mb = canonical(m)
        return tgz([(tar_entry("manifest.json", mb), mb)] + rest)
    if case in ("entry-path", "entry-extra"):
        # the second entry breaks its schema: a path outside the payload's
        # namespaces, or a member no entry has
        m = dict(manifest)
        es = [dict(e) for e in m["entries"]]
        if case == "entry-path":
            es[1]["path"] = "records/../evil.json"
        else:
            es[1]["mode"] = 493
        m["entries"] = es
        mb = canonical(m)
        return tgz([(tar_entry("manifest.json", mb), mb)] + rest)
    if case == "manifest-dupkey":
        mb = b'{"format": "xch-bundle/1", ' + mbytes[1:]
        return tgz([(tar_entry("manifest.json", mb), mb)] + rest)
    if case == "no-attachments":
        # every attachment left out, from the manifest too: a bundle
        # consistent in itself whose records name attachments it lacks
        drop = set(p for p, _ in files if p.startswith("attachments/"))
        if not drop:
            die("no-attachments: the bundle has no attachment")
        m = dict(manifest)
        m["entries"] = [e for e in m["entries"] if e["path"] not in drop]
        m["counts"] = dict(m["counts"], attachments=0)
        mb = canonical(m)
        return tgz([(tar_entry("manifest.json", mb), mb)] + [(tar_entry(p, b), b) for p, b in files if p not in drop])
    if case == "noncanonical":
        # every record printed as another writer might: compact, keys in
        # reverse order, "/" escaped; the manifest says so (a valid bundle)
        new = {}
        for p, b in files:
            if p.startswith("records/"):
                obj = json.loads(b)
                b = json.dumps(dict(reversed(list(obj.items()))), separators=(",", ":"),
                               ensure_ascii=True).replace("/", "\\/").encode()
            new[p] = b
        m = dict(manifest)
        m["entries"] = [{k: v for k, v in dict(e, size=len(new[e["path"]]),
                                               sha256=hashlib.sha256(new[e["path"]]).hexdigest()).items()
                         if k != "unchanged"} for e in m["entries"]]
        mb = canonical(m)
        return tgz([(tar_entry("manifest.json", mb), mb)] + [(tar_entry(p, new[p]), new[p]) for p, _ in files])
    if case == "notfirst":
        return tgz(rest[:1] + entries + rest[1:])
    if case == "empty":
        return tgz([])
    if case == "bomb-header":
        # an entry declaring 1 TiB: refused at its header, nothing inflated
        ti = tar_entry(first_path, size=1 << 40)
        return gz(tar_bytes(entries, end=False) + ti.tobuf(tarfile.PAX_FORMAT, "utf-8")) + zeros_member(1 << 20)
    if case == "bomb-manifest":
        # manifest.json declaring 2 GiB
        ti = tar_entry("manifest.json", size=2 << 30)
        return gz(ti.tobuf(tarfile.PAX_FORMAT, "utf-8")) + zeros_member(1 << 20)
    if case == "bomb-tail":
        # a correct archive followed by 256 MiB of zeros (4 gzip members, 256 KiB)
        member = zeros_member(64 << 20)
        return tgz(entries + rest) + member * 4
    if case == "tail-garbage":
        return tgz(entries + rest) + gz(b"garbage after the archive")
    if case == "not-gzip":
        return tar_bytes(entries + rest)
    if case == "bad-deflate":
        good = bytearray(tgz(entries + rest))
        good[len(good) // 2] ^= 0xff
        return bytes(good)
    die("unknown case '%s'" % case)


# ---- commands ----------------------------------------------------------

def cmd_regions(a):
    r = regions(read(a.bundle))
    for k in sorted(r):
        print(k, r[k])


def cmd_flip(a):
    with open(a.file, "r+b") as f:
        size = f.seek(0, 2)
        off = a.offset if a.offset >= 0 else size + a.offset
        if not 0 <= off < size:
            die("offset %d outside the file (%d bytes)" % (a.offset, size))
        f.seek(off)
        b = f.read(1)[0]
        f.seek(off)
        f.write(bytes([b ^ int(a.mask, 0)]))


def cmd_split(a):
    os.makedirs(a.dir, exist_ok=True)
    for name, data in zip(NAMES, split(read(a.bundle))):
        write(os.path.join(a.dir, name), data)


def cmd_container(a):
    write(a.out, container_bytes([read(a.payload), read(a.envelope), read(a.sig)]))


def cmd_payload(a):
    write(a.out, build_payload(a.dir, a.case))


def cmd_bundle(a):
    _, env, _ = split(read(a.base))
    payload = sign_encrypt(a.gnupghome, a.signer, a.recipient, build_payload(a.dir, a.case, a.pad))
    if a.cut:
        payload = payload[:a.cut]
    envb = envelope_bytes(with_payload(json.loads(env), payload))
    write(a.out, container_bytes([payload, envb, sign_detached(a.gnupghome, a.signer, envb)]))


def cmd_resign(a):
    payload, env, _ = split(read(a.base))
    env = json.loads(env)
    for kv in a.set or []:
        k, _, v = kv.partition("=")
        env[k] = v
    for kv in a.set_int or []:
        k, _, v = kv.partition("=")
        env[k] = int(v)
    envb = envelope_bytes(env)
    write(a.out, container_bytes([payload, envb, sign_detached(a.gnupghome, a.signer, envb)]))


def cmd_forward(a):
    payload, env, _ = split(read(a.base))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.gpg")
        write(src, payload)
        # the sender's signed message, the encryption layer removed
        inner = gpg(a.gnupghome, "--unwrap", "--output", "-", src)
    # encrypted as it is (no new literal packet around it)
    payload = gpg(a.gnupghome, "--compress-algo", "none", "--no-literal", "--recipient", a.recipient,
                  "--encrypt", "--output", "-", data=inner)
    env = with_payload(json.loads(env), payload)
    env["sender_fpr"] = a.signer.upper()
    env["recipients"] = [encryption_keyid(a.gnupghome, a.recipient)]
    envb = envelope_bytes(env)
    write(a.out, container_bytes([payload, envb, sign_detached(a.gnupghome, a.signer, envb)]))


def main():
    p = argparse.ArgumentParser(description="build hostile xch bundles")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("regions")
    s.add_argument("bundle")
    s.set_defaults(fn=cmd_regions)
    s = sub.add_parser("flip")
    s.add_argument("file")
    s.add_argument("offset", type=int)
    s.add_argument("mask", nargs="?", default="0x01")
    s.set_defaults(fn=cmd_flip)
    s = sub.add_parser("split")
    s.add_argument("bundle")
    s.add_argument("dir")
    s.set_defaults(fn=cmd_split)
    s = sub.add_parser("container")
    for n in ("out", "payload", "envelope", "sig"):
        s.add_argument(n)
    s.set_defaults(fn=cmd_container)
    s = sub.add_parser("payload")
    s.add_argument("--from", dest="dir", required=True)
    s.add_argument("--case", required=True)
    s.add_argument("out")
    s.set_defaults(fn=cmd_payload)
    for name, fn in (("bundle", cmd_bundle), ("resign", cmd_resign), ("forward", cmd_forward)):
        s = sub.add_parser(name)
        s.add_argument("--base", required=True)
        s.add_argument("--gnupghome", required=True)
        s.add_argument("--signer", required=True)
        if name == "bundle":
            s.add_argument("--from", dest="dir", required=True)
            s.add_argument("--case", required=True)
            s.add_argument("--recipient", action="append", required=True)
            s.add_argument("--pad", type=int, default=0, help="append N random bytes after the archive")
            s.add_argument("--cut", type=int, default=0, help="keep only the first N bytes of payload.gpg")
        elif name == "forward":
            s.add_argument("--recipient", required=True)
        else:
            s.add_argument("--set", action="append", metavar="KEY=STRING")
            s.add_argument("--set-int", action="append", metavar="KEY=N")
        s.add_argument("out")
        s.set_defaults(fn=fn)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
