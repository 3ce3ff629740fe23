/*
 * The OpenPGP layer against a real gpg, in throwaway GNUPGHOMEs.
 *
 * The failure classes and what gpg / GPGME report for each are listed at
 * the top of libexchange/crypto.c; the tests below make each of them.
 */
#include "common.h"
#include "crypto.h"
#include "sha256.h"
#include "util.h"
#include "testkeys.h"

#include <openssl/bn.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

/* Homes: who holds which keys (NAME = secret, NAME.pub = public only). */
static char *home_agency;   /* agency, agency-new; company, site, expired pubs */
static char *home_company;  /* company; agency, site, revoked (revoked), expired pubs */
static char *home_site;     /* site; agency pub */
static char *home_outsider; /* mallory, revoked-unrevoked, expired; company pub */
static xch_crypto *agency, *company, *site, *outsider;

/* --- streams for the tests ------------------------------------------------ */

/* A reader of n deterministic pseudo-random bytes, hashed as they go out. */
typedef struct {
	uint64_t state;
	size_t left;
	xch_sha256 *sha;
	int fail_at; /* fail on this call (1-based), 0 never */
	int calls;
} gen_reader;

static ssize_t gen_read(void *payload, void *buf, size_t len)
{
	gen_reader *g = payload;
	unsigned char *p = buf;
	size_t i, n = len < g->left ? len : g->left;

	if (g->fail_at && ++g->calls == g->fail_at)
		return xch_error_set(XCH_EOS, "test reader failed on purpose");
	for (i = 0; i < n; i++) {
		g->state ^= g->state << 13;
		g->state ^= g->state >> 7;
		g->state ^= g->state << 17;
		p[i] = (unsigned char)g->state;
	}
	g->left -= n;
	xch_sha256_update(g->sha, buf, n);
	return (ssize_t)n;
}

/* A reader of a memory buffer. */
typedef struct {
	const unsigned char *data;
	size_t len, off;
} mem_reader;

static ssize_t mem_read(void *payload, void *buf, size_t len)
{
	mem_reader *m = payload;
	size_t n = m->len - m->off < len ? m->len - m->off : len;
	memcpy(buf, m->data + m->off, n);
	m->off += n;
	return (ssize_t)n;
}

/* The same, a few octets at a time. */
static ssize_t mem_read_small(void *payload, void *buf, size_t len)
{
	return mem_read(payload, buf, len < 7 ? len : 7);
}

static int buf_write(void *payload, const void *buf, size_t len)
{
	return xch_buf_put(payload, buf, len);
}

/* A writer that only hashes and counts. */
typedef struct {
	xch_sha256 *sha;
	size_t total;
	bool fail;
} hash_writer;

static int hash_write(void *payload, const void *buf, size_t len)
{
	hash_writer *h = payload;
	if (h->fail)
		return xch_error_set(XCH_EOS, "test writer failed on purpose");
	h->total += len;
	return xch_sha256_update(h->sha, buf, len);
}

/* Sign with signer and encrypt small data to recipients, into out. */
static int seal(xch_crypto *c, const char *signer, const char *const *rcpts, size_t n, bool armor,
	const char *text, xch_buf *out)
{
	mem_reader m = { (const unsigned char *)text, strlen(text), 0 };
	return xch_crypto_sign_encrypt(c, signer, rcpts, n, armor, mem_read, &m, buf_write, out);
}

static int open_buf(xch_crypto *c, const void *data, size_t len, xch_buf *plain, xch_crypto_result *r)
{
	mem_reader m = { data, len, 0 };
	return xch_crypto_decrypt_verify(c, mem_read, &m, buf_write, plain, r);
}

static void read_fixture(xch_buf *out, const char *file)
{
	char path[1024];
	assert_int_equal(xch_testkeys_path(path, sizeof(path), file), 0);
	assert_int_equal(xch_file_read(out, path, 1 << 20, 0), 0);
}

/* Run gpg in home with args (NULL-terminated after the home). */
static int run_gpg(const char *home, const char *const *args)
{
	const char *argv[32] = { "gpg", "--homedir", home, "--batch", "--quiet", "--no-tty",
		"--no-permission-warning" };
	size_t n = 7;
	while (*args && n < XCH_ARRAY_SIZE(argv) - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	return xch_testkeys_run(argv, NULL);
}

static void write_file(const char *path, const void *data, size_t len)
{
	assert_int_equal(xch_file_write_atomic(path, data, len, 0600), 0);
}

/* --- setup ------------------------------------------------------------------ */

static int setup(void **state)
{
	if (xch_libexchange_init() < 0)
		return -1;
	home_agency = xch_testkeys_home("agency", "agency-new", "company.pub", "site.pub", "expired.pub", NULL);
	home_company = xch_testkeys_home("company", "agency.pub", "site.pub", "revoked.pub", "expired.pub", NULL);
	home_site = xch_testkeys_home("site", "agency.pub", NULL);
	home_outsider = xch_testkeys_home("mallory", "revoked-unrevoked", "expired", "company.pub", NULL);
	if (!home_agency || !home_company || !home_site || !home_outsider)
		return -1;
	if (xch_crypto_new(&agency, home_agency) < 0 || xch_crypto_new(&company, home_company) < 0 ||
	    xch_crypto_new(&site, home_site) < 0 || xch_crypto_new(&outsider, home_outsider) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	xch_crypto_free(agency);
	xch_crypto_free(company);
	xch_crypto_free(site);
	xch_crypto_free(outsider);
	xch_testkeys_home_remove(home_agency);
	xch_testkeys_home_remove(home_company);
	xch_testkeys_home_remove(home_site);
	xch_testkeys_home_remove(home_outsider);
	xch_libexchange_shutdown();
	return 0;
}

/* --- tests ------------------------------------------------------------------ */

static void test_roundtrip_streamed_multi_recipient(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY, XCH_TESTKEY_SITE };
	gen_reader g = { 0x9E3779B97F4A7C15ull, 20u << 20, NULL, 0, 0 };
	hash_writer h = { NULL, 0, false };
	xch_buf cipher = XCH_BUF_INIT, ids = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;
	char want[XCH_SHA256_HEXSIZE + 1], got[XCH_SHA256_HEXSIZE + 1];
	xch_crypto *const readers[] = { company, site };
	const char *const fprs[] = { XCH_TESTKEY_COMPANY, XCH_TESTKEY_SITE };

	assert_int_equal(xch_sha256_new(&g.sha), 0);
	assert_int_equal(xch_crypto_sign_encrypt(agency, XCH_TESTKEY_AGENCY, rcpts, 2, false,
		gen_read, &g, buf_write, &cipher), 0);
	assert_int_equal(xch_sha256_final_hex(g.sha, want), 0);
	assert_true(cipher.size > 20u << 20); /* no compression */

	for (size_t i = 0; i < 2; i++) {
		bool has = false;
		assert_int_equal(xch_sha256_new(&h.sha), 0);
		h.total = 0;
		{
			mem_reader m = { (const unsigned char *)cipher.ptr, cipher.size, 0 };
			assert_int_equal(xch_crypto_decrypt_verify(readers[i], mem_read, &m, hash_write, &h, &r), 0);
		}
		assert_int_equal(xch_sha256_final_hex(h.sha, got), 0);
		xch_sha256_free(h.sha);
		assert_int_equal(h.total, 20u << 20);
		assert_string_equal(got, want);
		assert_string_equal(r.signer_fpr, XCH_TESTKEY_AGENCY);
		assert_true(r.sig_time > 1500000000);
		assert_int_equal(r.nrecipients, 2);
		assert_null(r.recipient_keyids[2]);
		/* each reader finds its own encryption subkey among the recipients */
		for (size_t k = 0; k < r.nrecipients; k++) {
			bool mine;
			assert_int_equal(strlen(r.recipient_keyids[k]), 16);
			assert_int_equal(xch_crypto_key_has_keyid(readers[i], fprs[i], r.recipient_keyids[k], &mine), 0);
			has |= mine;
		}
		assert_true(has);
		xch_crypto_result_clear(&r);
	}
	/* agency itself is not a recipient: gpg stops reading early, no SIGPIPE */
	{
		mem_reader m = { (const unsigned char *)cipher.ptr, cipher.size, 0 };
		assert_int_equal(xch_sha256_new(&h.sha), 0);
		h.total = 0;
		assert_int_equal(xch_crypto_decrypt_verify(agency, mem_read, &m, hash_write, &h, &r), XCH_ENOTFORUS);
		assert_int_equal(h.total, 0);
		assert_int_equal(r.nrecipients, 2);
		xch_crypto_result_clear(&r);
		xch_sha256_free(h.sha);
	}
	/* the recipients are exactly the encryption subkeys gpg picks */
	assert_int_equal(xch_crypto_encryption_keyids(agency, XCH_TESTKEY_COMPANY, true, &ids), 0);
	assert_int_equal(ids.size, 17);
	xch_sha256_free(g.sha);
	xch_buf_dispose(&ids);
	xch_buf_dispose(&cipher);
}

static void test_roundtrip_armored(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	xch_buf cipher = XCH_BUF_INIT, plain = XCH_BUF_INIT, ids = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;
	gen_reader g = { 12345, 3u << 20, NULL, 0, 0 };
	hash_writer h = { NULL, 0, false };
	char want[XCH_SHA256_HEXSIZE + 1], got[XCH_SHA256_HEXSIZE + 1];

	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, true, "hello, company\n", &cipher), 0);
	assert_non_null(strstr(cipher.ptr, "-----BEGIN PGP MESSAGE-----"));
	assert_int_equal(open_buf(company, cipher.ptr, cipher.size, &plain, &r), 0);
	assert_string_equal(plain.ptr, "hello, company\n");
	assert_string_equal(r.signer_fpr, XCH_TESTKEY_AGENCY);
	assert_int_equal(r.nrecipients, 1);
	assert_int_equal(xch_crypto_encryption_keyids(company, XCH_TESTKEY_COMPANY, true, &ids), 0);
	assert_int_equal(strncmp(ids.ptr, r.recipient_keyids[0], 16), 0);
	xch_crypto_result_clear(&r);

	/* a few MB, armored: partial lengths through the armor */
	xch_buf_clear(&cipher);
	assert_int_equal(xch_sha256_new(&g.sha), 0);
	assert_int_equal(xch_crypto_sign_encrypt(agency, XCH_TESTKEY_AGENCY, rcpts, 1, true,
		gen_read, &g, buf_write, &cipher), 0);
	assert_int_equal(xch_sha256_final_hex(g.sha, want), 0);
	assert_int_equal(xch_sha256_new(&h.sha), 0);
	{
		mem_reader m = { (const unsigned char *)cipher.ptr, cipher.size, 0 };
		assert_int_equal(xch_crypto_decrypt_verify(company, mem_read, &m, hash_write, &h, &r), 0);
	}
	assert_int_equal(xch_sha256_final_hex(h.sha, got), 0);
	assert_string_equal(got, want);
	xch_sha256_free(g.sha);
	xch_sha256_free(h.sha);
	xch_crypto_result_clear(&r);
	xch_buf_dispose(&ids);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&cipher);
}

static void test_empty_plaintext(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	xch_buf cipher = XCH_BUF_INIT, plain = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;

	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, false, "", &cipher), 0);
	assert_int_equal(open_buf(company, cipher.ptr, cipher.size, &plain, &r), 0);
	assert_int_equal(plain.size, 0);
	assert_string_equal(r.signer_fpr, XCH_TESTKEY_AGENCY);
	xch_crypto_result_clear(&r);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&cipher);
}

static void test_not_for_us(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_SITE };
	xch_buf cipher = XCH_BUF_INIT, plain = XCH_BUF_INIT, ids = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;

	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, false, "for site only", &cipher), 0);
	assert_int_equal(open_buf(company, cipher.ptr, cipher.size, &plain, &r), XCH_ENOTFORUS);
	assert_int_equal(plain.size, 0);
	assert_string_equal(r.signer_fpr, "");
	/* the recipients are still reported */
	assert_int_equal(r.nrecipients, 1);
	assert_int_equal(xch_crypto_encryption_keyids(agency, XCH_TESTKEY_SITE, true, &ids), 0);
	assert_int_equal(strncmp(ids.ptr, r.recipient_keyids[0], 16), 0);
	xch_crypto_result_clear(&r);
	xch_buf_dispose(&ids);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&cipher);
}

static void test_unknown_signer(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	xch_buf cipher = XCH_BUF_INIT, plain = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;

	assert_int_equal(seal(outsider, XCH_TESTKEY_MALLORY, rcpts, 1, false, "trust me", &cipher), 0);
	assert_int_equal(open_buf(company, cipher.ptr, cipher.size, &plain, &r), XCH_EUNTRUSTED);
	assert_non_null(strstr(xch_error_last()->message, "unknown key"));
	assert_string_equal(r.signer_fpr, "");
	xch_crypto_result_clear(&r);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&cipher);
}

static void test_revoked_signer(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	xch_buf cipher = XCH_BUF_INIT, plain = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;

	/* signed while the outsider still holds the unrevoked key */
	assert_int_equal(seal(outsider, XCH_TESTKEY_REVOKED, rcpts, 1, false, "before revocation", &cipher), 0);
	assert_int_equal(open_buf(company, cipher.ptr, cipher.size, &plain, &r), XCH_EKEYREVOKED);
	assert_string_equal(r.signer_fpr, "");
	xch_crypto_result_clear(&r);
	/* and company will not encrypt to it */
	assert_int_equal(seal(company, XCH_TESTKEY_COMPANY, (const char *[]){ XCH_TESTKEY_REVOKED }, 1,
		false, "x", &cipher), XCH_EKEYREVOKED);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&cipher);
}

static void test_expired_signer(void **state)
{
	xch_buf cipher = XCH_BUF_INIT, plain = XCH_BUF_INIT, text = XCH_BUF_INIT, sig = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;
	char fpr[41];
	int64_t when = 1;

	/* made by make-keys.sh in 2020, while the key was valid */
	read_fixture(&cipher, "expired-to-agency.gpg");
	assert_int_equal(open_buf(agency, cipher.ptr, cipher.size, &plain, &r), XCH_EKEYEXPIRED);
	assert_string_equal(r.signer_fpr, "");
	xch_crypto_result_clear(&r);

	read_fixture(&text, "expired.txt");
	read_fixture(&sig, "expired.sig");
	assert_int_equal(xch_crypto_verify_detached(agency, text.ptr, text.size, sig.ptr, sig.size, fpr, &when),
		XCH_EKEYEXPIRED);
	assert_string_equal(fpr, "");
	assert_int_equal(when, 0);

	/* nor can it sign now, nor be encrypted to */
	xch_buf_clear(&cipher);
	assert_int_equal(seal(outsider, XCH_TESTKEY_EXPIRED, (const char *[]){ XCH_TESTKEY_COMPANY }, 1,
		false, "x", &cipher), XCH_EKEYEXPIRED);
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, (const char *[]){ XCH_TESTKEY_EXPIRED }, 1,
		false, "x", &cipher), XCH_EKEYEXPIRED);
	xch_buf_dispose(&text);
	xch_buf_dispose(&sig);
	xch_buf_dispose(&plain);
	xch_buf_dispose(&cipher);
}

/* A message of some size from agency to company, binary. */
static void make_message(xch_buf *cipher)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	gen_reader g = { 42, 200000, NULL, 0, 0 };
	assert_int_equal(xch_sha256_new(&g.sha), 0);
	assert_int_equal(xch_crypto_sign_encrypt(agency, XCH_TESTKEY_AGENCY, rcpts, 1, false,
		gen_read, &g, buf_write, cipher), 0);
	xch_sha256_free(g.sha);
}

static int open_quiet(xch_crypto *c, const void *data, size_t len)
{
	hash_writer h = { NULL, 0, false };
	mem_reader m = { data, len, 0 };
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;
	int error;

	assert_int_equal(xch_sha256_new(&h.sha), 0);
	error = xch_crypto_decrypt_verify(c, mem_read, &m, hash_write, &h, &r);
	if (error)
		assert_string_equal(r.signer_fpr, "");
	xch_crypto_result_clear(&r);
	xch_sha256_free(h.sha);
	return error;
}

static void test_flipped_byte(void **state)
{
	xch_buf cipher = XCH_BUF_INIT;
	size_t offsets[7], i;
	int error;

	make_message(&cipher);
	assert_int_equal(open_quiet(company, cipher.ptr, cipher.size), 0);
	/*
	 * Inside the encrypted data (it starts at byte 96): its first blocks,
	 * the signed text, the signature, the MDC at the end. A flip in the
	 * signed text makes a bad signature, which gpg (in batch mode) reports
	 * and exits on before it reaches the MDC: XCH_EBADSIG. A flip that
	 * breaks a packet, or the MDC: XCH_ETAMPERED.
	 */
	offsets[0] = 110;
	offsets[1] = 200;
	offsets[2] = cipher.size / 2;
	offsets[3] = cipher.size - 30;
	offsets[4] = cipher.size - 1;
	for (i = 0; i < 5; i++) {
		cipher.ptr[offsets[i]] ^= 0x01;
		error = open_quiet(company, cipher.ptr, cipher.size);
		cipher.ptr[offsets[i]] ^= 0x01;
		print_message("# flip at %zu/%zu: %s (%s)\n", offsets[i], cipher.size,
			xch_error_name(error), xch_error_last()->message);
		if (i == 4)
			assert_int_equal(error, XCH_ETAMPERED);
		else if (i == 0)
			/*
			 * Near the start the layout varies with the random session key: a flip
			 * there may also read as a packet of another kind, refused as not ours.
			 */
			assert_true(error == XCH_ETAMPERED || error == XCH_EBADSIG || error == XCH_ENOTFORUS);
		else
			assert_true(error == XCH_ETAMPERED || error == XCH_EBADSIG);
	}
	/* in the session-key packet: refused, whatever gpg makes of it */
	offsets[5] = 5;  /* the key id: not for us */
	offsets[6] = 40; /* the encrypted session key: tampered */
	for (i = 5; i < 7; i++) {
		cipher.ptr[offsets[i]] ^= 0x01;
		error = open_quiet(company, cipher.ptr, cipher.size);
		cipher.ptr[offsets[i]] ^= 0x01;
		print_message("# flip at %zu/%zu: %s (%s)\n", offsets[i], cipher.size,
			xch_error_name(error), xch_error_last()->message);
		assert_int_equal(error, i == 5 ? XCH_ENOTFORUS : XCH_ETAMPERED);
	}
	xch_buf_dispose(&cipher);
}

/* The offset of the first top-level packet of tag 18 (SEIPD) in a binary message. */
static size_t encrypted_offset(const xch_buf *msg)
{
	const unsigned char *p = (const unsigned char *)msg->ptr;
	size_t off = 0;

	while (off + 2 < msg->size) {
		size_t hlen, body;
		int tag;
		assert_true(p[off] & 0x80);
		tag = (p[off] & 0x40) ? p[off] & 0x3f : (p[off] >> 2) & 0x0f;
		if (tag == 18)
			return off;
		if (p[off] & 0x40) {
			assert_true(p[off + 1] < 224); /* no partial length before the encrypted packet */
			if (p[off + 1] < 192) {
				hlen = 2;
				body = p[off + 1];
			} else {
				hlen = 3;
				body = ((size_t)(p[off + 1] - 192) << 8) + p[off + 2] + 192;
			}
		} else {
			assert_true((p[off] & 3) < 2);
			hlen = 2 + (p[off] & 3);
			body = hlen == 2 ? p[off + 1] : ((size_t)p[off + 1] << 8) | p[off + 2];
		}
		off += hlen + body;
	}
	fail_msg("no encrypted packet");
	return 0;
}

static void test_truncated(void **state)
{
	xch_buf cipher = XCH_BUF_INIT, armored = XCH_BUF_INIT;
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	size_t cuts[9], i, seipd;
	int error;

	make_message(&cipher);
	seipd = encrypted_offset(&cipher);
	/*
	 * Inside the encrypted packet: after gpg started decrypting it (the
	 * MDC gone, or cut in the middle), and within its first partial-length
	 * chunk, which gpg cannot even read (no DECRYPTION_INFO): all tampered.
	 */
	cuts[0] = cipher.size - 1;
	cuts[1] = cipher.size - 22; /* the MDC packet gone */
	cuts[2] = cipher.size / 2;
	cuts[3] = seipd + 1;        /* just the packet's tag */
	cuts[4] = seipd + 2;        /* and its first length octet */
	cuts[5] = seipd + 100;
	cuts[6] = seipd + 5000;
	for (i = 0; i < 7; i++) {
		error = open_quiet(company, cipher.ptr, cuts[i]);
		print_message("# cut at %zu/%zu: %s (%s)\n", cuts[i], cipher.size,
			xch_error_name(error), xch_error_last()->message);
		assert_int_equal(error, XCH_ETAMPERED);
		assert_non_null(strstr(xch_error_last()->message, "cut short"));
	}
	/* before the encrypted packet: malformed */
	cuts[6] = seipd;
	cuts[7] = 10;
	cuts[8] = 0;
	for (i = 6; i < 9; i++) {
		error = open_quiet(company, cipher.ptr, cuts[i]);
		print_message("# cut at %zu/%zu: %s (%s)\n", cuts[i], cipher.size,
			xch_error_name(error), xch_error_last()->message);
		assert_int_equal(error, XCH_EMALFORMED);
	}
	assert_int_equal(open_quiet(company, "not openpgp at all\n", 19), XCH_EMALFORMED);
	/*
	 * Not for us comes first once gpg has tried its keys; in the first
	 * chunk it never gets to them: tampered, whoever opens it.
	 */
	assert_int_equal(open_quiet(site, cipher.ptr, cipher.size / 2), XCH_ENOTFORUS);
	assert_int_equal(open_quiet(site, cipher.ptr, seipd + 100), XCH_ETAMPERED);
	/* armored, cut in its middle */
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, true, "a short armored message\n", &armored), 0);
	assert_int_equal(open_quiet(company, armored.ptr, armored.size), 0);
	assert_int_equal(open_quiet(company, armored.ptr, armored.size / 2), XCH_ETAMPERED);
	xch_buf_dispose(&armored);
	xch_buf_dispose(&cipher);
}

/* Messages gpg itself makes that we must refuse: see each case. */
static void test_refuses_odd_messages(void **state)
{
	char in[64], sig[64], out[64];
	xch_buf data = XCH_BUF_INIT, plain = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;
	size_t i;

	snprintf(in, sizeof(in), "%s/in.txt", home_agency);
	snprintf(sig, sizeof(sig), "%s/signed.gpg", home_agency);
	snprintf(out, sizeof(out), "%s/out.gpg", home_agency);
	write_file(in, "pay 100 to mallory\n", 19);

	/* encrypted, not signed */
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "--always-trust", "-z", "0", "-r",
		XCH_TESTKEY_COMPANY, "--output", out, "--encrypt", in, NULL }), 0);
	xch_buf_clear(&data);
	assert_int_equal(xch_file_read(&data, out, 1 << 20, 0), 0);
	assert_int_equal(open_buf(company, data.ptr, data.size, &plain, &r), XCH_EBADSIG);
	assert_non_null(strstr(xch_error_last()->message, "no signature"));
	xch_crypto_result_clear(&r);
	unlink(out);

	/* signed by two keys */
	xch_buf_clear(&plain);
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "--always-trust", "-z", "0", "-r",
		XCH_TESTKEY_COMPANY, "-u", XCH_TESTKEY_AGENCY, "-u", XCH_TESTKEY_AGENCY_NEW, "--output", out,
		"--sign", "--encrypt", in, NULL }), 0);
	xch_buf_clear(&data);
	assert_int_equal(xch_file_read(&data, out, 1 << 20, 0), 0);
	assert_int_equal(open_buf(company, data.ptr, data.size, &plain, &r), XCH_EBADSIG);
	xch_crypto_result_clear(&r);
	unlink(out);

	/* a signed message altered, then encrypted as it is (by anyone): bad signature */
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "-z", "0", "-u", XCH_TESTKEY_AGENCY,
		"--output", sig, "--sign", in, NULL }), 0);
	xch_buf_clear(&data);
	assert_int_equal(xch_file_read(&data, sig, 1 << 20, 0), 0);
	for (i = 0; i + 3 <= data.size && memcmp(data.ptr + i, "100", 3); i++)
		;
	assert_true(i + 3 <= data.size);
	data.ptr[i] = '9';
	unlink(sig);
	write_file(sig, data.ptr, data.size);
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "--always-trust", "-z", "0", "-r",
		XCH_TESTKEY_COMPANY, "--no-literal", "--output", out, "--encrypt", sig, NULL }), 0);
	xch_buf_clear(&data);
	assert_int_equal(xch_file_read(&data, out, 1 << 20, 0), 0);
	xch_buf_clear(&plain);
	assert_int_equal(open_buf(company, data.ptr, data.size, &plain, &r), XCH_EBADSIG);
	print_message("# altered signed text: %s\n", xch_error_last()->message);
	assert_non_null(strstr(xch_error_last()->message, "bad signature"));
	assert_string_equal(r.signer_fpr, "");
	xch_crypto_result_clear(&r);
	unlink(out);
	unlink(sig);

	/* no integrity protection (--rfc2440 leaves the MDC out) */
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "--always-trust", "-z", "0", "--rfc2440",
		"--cipher-algo", "AES256", "-r", XCH_TESTKEY_COMPANY, "-u", XCH_TESTKEY_AGENCY,
		"--output", out, "--sign", "--encrypt", in, NULL }), 0);
	xch_buf_clear(&data);
	assert_int_equal(xch_file_read(&data, out, 1 << 20, 0), 0);
	xch_buf_clear(&plain);
	assert_int_equal(open_buf(company, data.ptr, data.size, &plain, &r), XCH_ETAMPERED);
	assert_non_null(strstr(xch_error_last()->message, "integrity"));
	assert_int_equal(plain.size, 0); /* refused before gpg saw it */
	xch_crypto_result_clear(&r);
	unlink(out);

	/* a signed message that is not encrypted */
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "-z", "0", "-u", XCH_TESTKEY_AGENCY,
		"--output", sig, "--sign", in, NULL }), 0);
	xch_buf_clear(&data);
	assert_int_equal(xch_file_read(&data, sig, 1 << 20, 0), 0);
	xch_buf_clear(&plain);
	assert_int_equal(open_buf(company, data.ptr, data.size, &plain, &r), XCH_EMALFORMED);
	assert_non_null(strstr(xch_error_last()->message, "not encrypted"));
	assert_int_equal(plain.size, 0);
	xch_crypto_result_clear(&r);
	unlink(sig);

	/* a cleartext signature */
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "-u", XCH_TESTKEY_AGENCY,
		"--output", sig, "--clearsign", in, NULL }), 0);
	assert_int_equal(xch_file_read(&data, sig, 1 << 20, 0), 0);
	xch_buf_clear(&plain);
	assert_int_equal(open_buf(company, data.ptr, data.size, &plain, &r), XCH_EMALFORMED);
	assert_int_equal(plain.size, 0);
	xch_crypto_result_clear(&r);
	unlink(sig);
	unlink(in);
	xch_buf_dispose(&data);
	xch_buf_dispose(&plain);
}

static void expect_refused(const xch_buf *data, int code, const char *words)
{
	xch_buf plain = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;

	assert_int_equal(open_buf(company, data->ptr, data->size, &plain, &r), code);
	assert_non_null(strstr(xch_error_last()->message, words));
	assert_string_equal(r.signer_fpr, "");
	xch_crypto_result_clear(&r);
	xch_buf_dispose(&plain);
}

/*
 * Messages refused before gpg sees the offending packet: no pinentry for a
 * passphrase, no second message.
 */
static void test_refuses_passphrase_and_extra_messages(void **state)
{
	xch_buf data = XCH_BUF_INIT, two = XCH_BUF_INIT, hidden = XCH_BUF_INIT;
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	char *p;

	/* encrypted with a passphrase: binary, armored (made by make-messages.sh) */
	read_fixture(&data, "sym.gpg");
	expect_refused(&data, XCH_ENOTFORUS, "passphrase");
	read_fixture(&data, "sym.asc");
	expect_refused(&data, XCH_ENOTFORUS, "passphrase");
	/* ... behind a line of text and another armor name, which gpg accepts */
	assert_non_null(p = strstr(data.ptr, "MESSAGE-----"));
	assert_int_equal(xch_buf_printf(&hidden, "hello\n-----BEGIN PGP ARMORED FILE-----%s", p + 12), 0);
	expect_refused(&hidden, XCH_ENOTFORUS, "passphrase");
	/* to company and to a passphrase at once */
	read_fixture(&data, "sym-company.gpg");
	expect_refused(&data, XCH_ENOTFORUS, "passphrase");

	/* two good messages one after the other: binary, armored */
	xch_buf_clear(&data);
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, false, "one", &data), 0);
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, false, "two", &data), 0);
	expect_refused(&data, XCH_EMALFORMED, "after its encrypted packet");
	xch_buf_clear(&data);
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, true, "one", &data), 0);
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, true, "two", &data), 0);
	expect_refused(&data, XCH_EMALFORMED, "another armored block");
	/* but text after the END line is fine (gpg ignores it) */
	xch_buf_clear(&data);
	assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, true, "one", &data), 0);
	assert_int_equal(xch_buf_puts(&data, "trailing words\n"), 0);
	{
		xch_buf plain = XCH_BUF_INIT;
		assert_int_equal(open_buf(company, data.ptr, data.size, &plain, NULL), 0);
		assert_string_equal(plain.ptr, "one");
		xch_buf_dispose(&plain);
	}
	xch_buf_dispose(&data);
	xch_buf_dispose(&two);
	xch_buf_dispose(&hidden);
}

/* The checks on the way to gpg work whatever the reads' sizes. */
static void test_small_reads(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	xch_buf data = XCH_BUF_INIT, plain = XCH_BUF_INIT;
	xch_crypto_result r = XCH_CRYPTO_RESULT_INIT;

	for (int armor = 0; armor < 2; armor++) {
		mem_reader m = { NULL, 0, 0 };
		xch_buf_clear(&data);
		xch_buf_clear(&plain);
		assert_int_equal(seal(agency, XCH_TESTKEY_AGENCY, rcpts, 1, armor, "in small pieces\n", &data), 0);
		m.data = (const unsigned char *)data.ptr;
		m.len = data.size;
		assert_int_equal(xch_crypto_decrypt_verify(company, mem_read_small, &m, buf_write, &plain, &r), 0);
		assert_string_equal(plain.ptr, "in small pieces\n");
		assert_string_equal(r.signer_fpr, XCH_TESTKEY_AGENCY);
		xch_crypto_result_clear(&r);
	}
	for (int armor = 0; armor < 2; armor++) {
		mem_reader m = { NULL, 0, 0 };
		read_fixture(&data, armor ? "sym.asc" : "sym.gpg");
		m.data = (const unsigned char *)data.ptr;
		m.len = data.size;
		assert_int_equal(xch_crypto_decrypt_verify(company, mem_read_small, &m, buf_write, &plain, &r),
			XCH_ENOTFORUS);
		xch_crypto_result_clear(&r);
	}
	xch_buf_dispose(&data);
	xch_buf_dispose(&plain);
}

static void test_detached(void **state)
{
	static const char text[] = "{\"envelope\": 1}\n";
	xch_buf sig = XCH_BUF_INIT, asig = XCH_BUF_INIT, msig = XCH_BUF_INIT;
	char fpr[41];
	int64_t when = 0;

	assert_int_equal(xch_crypto_sign_detached(agency, XCH_TESTKEY_AGENCY, text, strlen(text), false, &sig), 0);
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), sig.ptr, sig.size, fpr, &when), 0);
	assert_string_equal(fpr, XCH_TESTKEY_AGENCY);
	assert_true(when > 1500000000);

	assert_int_equal(xch_crypto_sign_detached(agency, XCH_TESTKEY_AGENCY, text, strlen(text), true, &asig), 0);
	assert_non_null(strstr(asig.ptr, "-----BEGIN PGP SIGNATURE-----"));
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), asig.ptr, asig.size, fpr, NULL), 0);
	assert_string_equal(fpr, XCH_TESTKEY_AGENCY);

	/* other data */
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text) - 1, sig.ptr, sig.size, fpr, &when),
		XCH_EBADSIG);
	assert_string_equal(fpr, "");
	/* a damaged signature */
	sig.ptr[sig.size - 5] ^= 0x40;
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), sig.ptr, sig.size, fpr, NULL) < 0, 1);
	sig.ptr[sig.size - 5] ^= 0x40;
	/* garbage, empty */
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), "garbage", 7, fpr, NULL),
		XCH_EMALFORMED);
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), "", 0, fpr, NULL), XCH_EBADSIG);
	/* not signatures at all: an encrypted message, a passphrase message, a key */
	{
		xch_buf other = XCH_BUF_INIT;
		read_fixture(&other, "expired-to-agency.gpg");
		assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), other.ptr, other.size, fpr,
			NULL), XCH_EMALFORMED);
		read_fixture(&other, "sym.asc");
		assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), other.ptr, other.size, fpr,
			NULL), XCH_EMALFORMED);
		read_fixture(&other, "agency.pub.asc");
		assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), other.ptr, other.size, fpr,
			NULL), XCH_EMALFORMED);
		xch_buf_dispose(&other);
	}
	/* a signer company does not know */
	assert_int_equal(xch_crypto_sign_detached(outsider, XCH_TESTKEY_MALLORY, text, strlen(text), false, &msig), 0);
	assert_int_equal(xch_crypto_verify_detached(company, text, strlen(text), msig.ptr, msig.size, fpr, NULL),
		XCH_EUNTRUSTED);
	/* two signatures glued together */
	assert_int_equal(xch_buf_put(&sig, msig.ptr, msig.size), 0);
	assert_int_equal(xch_crypto_verify_detached(outsider, text, strlen(text), sig.ptr, sig.size, fpr, NULL) < 0, 1);
	/* company has no secret key of agency */
	assert_int_equal(xch_crypto_sign_detached(company, XCH_TESTKEY_AGENCY, text, strlen(text), false, &msig),
		XCH_ENOTFOUND);
	xch_buf_dispose(&sig);
	xch_buf_dispose(&asig);
	xch_buf_dispose(&msig);
}

/* --- detached signatures in canonical form ------------------------------------ */

static const char canon_text[] = "{\"envelope\": 2, \"canonical\": true}\n";

/* Where the parts of a detached signature made by gpg are. */
typedef struct {
	size_t hlen;       /* its header: 2 or 3 octets (old format) */
	size_t unhashed;   /* the unhashed area's length octets */
	size_t left16;     /* the digest's left 16 bits */
	size_t mpi1, mpi2; /* the MPIs' bit counts (mpi2 0 if only one) */
} sig_layout;

static size_t be16_at(const xch_buf *b, size_t off)
{
	return ((size_t)(unsigned char)b->ptr[off] << 8) | (unsigned char)b->ptr[off + 1];
}

static void sig_layout_of(const xch_buf *sig, sig_layout *l)
{
	const unsigned char *p = (const unsigned char *)sig->ptr;
	size_t end;

	assert_true(sig->size > 20);
	assert_true(p[0] == 0x88 || p[0] == 0x89);
	l->hlen = p[0] == 0x88 ? 2 : 3;
	assert_int_equal(l->hlen == 2 ? p[1] : be16_at(sig, 1), sig->size - l->hlen);
	l->unhashed = l->hlen + 6 + be16_at(sig, l->hlen + 4);
	assert_int_equal(be16_at(sig, l->unhashed), 10);
	l->left16 = l->unhashed + 12;
	l->mpi1 = l->left16 + 2;
	end = l->mpi1 + 2 + (be16_at(sig, l->mpi1) + 7) / 8;
	l->mpi2 = 0;
	if (p[l->hlen + 2] != 1) { /* not RSA: two MPIs */
		l->mpi2 = end;
		end = l->mpi2 + 2 + (be16_at(sig, l->mpi2) + 7) / 8;
	}
	assert_int_equal(end, sig->size);
}

/*
 * Verify sig over canon_text as c, expecting signer if good; on failure,
 * the outputs are empty.
 */
static int verify_as(xch_crypto *c, const char *signer, const void *sig, size_t len)
{
	char fpr[41] = "x";
	int64_t when = 1;
	int error = xch_crypto_verify_detached(c, canon_text, strlen(canon_text), sig, len, fpr, &when);
	if (error) {
		assert_string_equal(fpr, "");
		assert_int_equal(when, 0);
	} else {
		assert_string_equal(fpr, signer);
		assert_true(when > 0);
	}
	return error;
}

/* ... as company, a signature by agency. */
static int verify_canon(const void *sig, size_t len)
{
	return verify_as(company, XCH_TESTKEY_AGENCY, sig, len);
}

static bool last_is_canonical_refusal(void)
{
	return xch_error_last()->code == XCH_EBADSIG &&
		strstr(xch_error_last()->message, "signature is not in canonical form: ") != NULL;
}

/*
 * Expect sig refused by c as not canonical, the reason containing words:
 * so gpg found it good.
 */
static void expect_not_canonical_as(xch_crypto *c, const xch_buf *sig, const char *words)
{
	int error = verify_as(c, "", sig->ptr, sig->size);
	print_message("# %s: %s\n", words, xch_error_last()->message);
	assert_int_equal(error, XCH_EBADSIG);
	assert_true(last_is_canonical_refusal());
	assert_non_null(strstr(xch_error_last()->message, words));
}

static void expect_not_canonical(const xch_buf *sig, const char *words)
{
	expect_not_canonical_as(company, sig, words);
}

/*
 * out = sig with the bytes [at, at + cut) replaced by len bytes of ins;
 * the packet length fixed, in a header of the same size.
 */
static void splice(xch_buf *out, const xch_buf *sig, size_t at, size_t cut, const void *ins, size_t len)
{
	size_t hlen = (unsigned char)sig->ptr[0] == 0x88 ? 2 : 3;

	xch_buf_clear(out);
	assert_int_equal(xch_buf_put(out, sig->ptr, at), 0);
	assert_int_equal(xch_buf_put(out, ins, len), 0);
	assert_int_equal(xch_buf_put(out, sig->ptr + at + cut, sig->size - at - cut), 0);
	if (hlen == 2) {
		assert_true(out->size - 2 < 256);
		out->ptr[1] = (char)(out->size - 2);
	} else {
		assert_true(out->size - 3 >= 256 && out->size - 3 < 65536);
		out->ptr[1] = (char)((out->size - 3) >> 8);
		out->ptr[2] = (char)(out->size - 3);
	}
}

/* out = sig with the MPI at mpi (its bit count) replaced by the value v. */
static void replace_mpi(xch_buf *out, const xch_buf *sig, size_t mpi, const BIGNUM *v)
{
	unsigned char enc[2 + 1024];
	int bits = BN_num_bits(v), len = BN_num_bytes(v);

	assert_true(len > 0 && len <= 1024);
	enc[0] = (unsigned char)(bits >> 8);
	enc[1] = (unsigned char)bits;
	BN_bn2bin(v, enc + 2);
	splice(out, sig, mpi, 2 + (be16_at(sig, mpi) + 7) / 8, enc, 2 + (size_t)len);
}

/* The value of the MPI at mpi in sig. */
static BIGNUM *mpi_value(const xch_buf *sig, size_t mpi)
{
	BIGNUM *v = BN_bin2bn((const unsigned char *)sig->ptr + mpi + 2, (int)((be16_at(sig, mpi) + 7) / 8), NULL);
	assert_non_null(v);
	return v;
}

/* Every single-byte change of a signature is refused, wherever it is. */
static void test_detached_every_byte(void **state)
{
	static const unsigned char masks[] = { 0x01, 0x80, 0xff };
	xch_buf sig = XCH_BUF_INIT;
	sig_layout l;
	size_t i, m, canonical = 0, total = 0;

	assert_int_equal(xch_crypto_sign_detached(agency, XCH_TESTKEY_AGENCY, canon_text, strlen(canon_text),
		false, &sig), 0);
	sig_layout_of(&sig, &l);
	assert_int_equal(verify_canon(sig.ptr, sig.size), 0);
	for (i = 0; i < sig.size; i++) {
		for (m = 0; m < XCH_ARRAY_SIZE(masks); m++) {
			int error;
			sig.ptr[i] ^= (char)masks[m];
			error = verify_canon(sig.ptr, sig.size);
			sig.ptr[i] ^= (char)masks[m];
			total++;
			if (error == 0)
				fail_msg("byte %zu of %zu flipped with 0x%02x verifies", i, sig.size, masks[m]);
			assert_true(error < 0);
			if (last_is_canonical_refusal())
				canonical++;
			/*
			 * The parts the signature does not cover: a bad signature,
			 * whoever says it, or (an area's length overruns) malformed.
			 */
			if ((i >= l.unhashed && i < l.mpi1 + 2) || i == l.mpi2 || i == l.mpi2 + 1)
				assert_true(error == XCH_EBADSIG || error == XCH_EMALFORMED);
		}
	}
	print_message("# %zu single-byte changes of a %zu-byte signature refused, %zu as not canonical\n",
		total, sig.size, canonical);
	assert_true(canonical > 0);
	/* the changes gpg lets through, each refused by us */
	for (i = l.unhashed + 2; i < l.left16 + 2; i++) {
		sig.ptr[i] ^= 0x01;
		assert_int_equal(verify_canon(sig.ptr, sig.size), XCH_EBADSIG);
		sig.ptr[i] ^= 0x01;
	}
	/* the MPIs' bit counts one off, in as many bytes (gpg reads the same value): refused */
	for (i = 0; i < 2; i++) {
		unsigned char *at = (unsigned char *)sig.ptr + (i == 0 ? l.mpi1 : l.mpi2);
		size_t bits = ((size_t)at[0] << 8) | at[1], off = bits % 8 == 1 ? bits + 1 : bits - 1;
		at[0] = (unsigned char)(off >> 8);
		at[1] = (unsigned char)off;
		expect_not_canonical(&sig, "does not have exactly");
		at[0] = (unsigned char)(bits >> 8);
		at[1] = (unsigned char)bits;
	}
	/* the header in new format (the one other header of the same length) */
	sig.ptr[0] = (char)0xc2;
	expect_not_canonical(&sig, "old-format");
	sig.ptr[0] = (char)0x88;
	assert_int_equal(verify_canon(sig.ptr, sig.size), 0);
	xch_buf_dispose(&sig);
}

/* Cut anywhere, or with anything after it: refused. */
static void test_detached_truncated_and_extended(void **state)
{
	xch_buf sig = XCH_BUF_INIT, more = XCH_BUF_INIT;
	size_t n;

	assert_int_equal(xch_crypto_sign_detached(agency, XCH_TESTKEY_AGENCY, canon_text, strlen(canon_text),
		false, &sig), 0);
	for (n = 1; n < sig.size; n++) {
		int error = verify_canon(sig.ptr, n);
		if (error == 0)
			fail_msg("signature cut to %zu of %zu bytes verifies", n, sig.size);
		assert_true(error == XCH_EMALFORMED || error == XCH_EBADSIG);
	}
	/* a byte, a packet, the signature itself after it */
	static const unsigned char tails[][3] = { { 0x00 }, { 0x88, 0x00 }, { 0xc2, 0x01, 0x04 } };
	for (n = 0; n < XCH_ARRAY_SIZE(tails); n++) {
		xch_buf_clear(&more);
		assert_int_equal(xch_buf_put(&more, sig.ptr, sig.size), 0);
		assert_int_equal(xch_buf_put(&more, tails[n], n + 1), 0);
		assert_true(verify_canon(more.ptr, more.size) < 0);
	}
	xch_buf_clear(&more);
	assert_int_equal(xch_buf_put(&more, sig.ptr, sig.size), 0);
	assert_int_equal(xch_buf_put(&more, sig.ptr, sig.size), 0);
	assert_int_equal(verify_canon(more.ptr, more.size), XCH_EBADSIG); /* two signatures */
	xch_buf_dispose(&more);
	xch_buf_dispose(&sig);
}

/* Signatures gpg finds good, each in a form we refuse. */
static void test_detached_not_canonical(void **state)
{
	xch_buf sig = XCH_BUF_INIT, odd = XCH_BUF_INIT;
	sig_layout l;
	char in[64], out[64];
	static const unsigned char notation[] = { 6, 101, 'x', 'c', 'h', '!', '!' }; /* a private subpacket */
	static const unsigned char agency_primary[] = { 0xDC, 0x21, 0xE4, 0x01, 0xDE, 0x46, 0x83, 0x1E };
	unsigned char hdr[3];

	assert_int_equal(xch_crypto_sign_detached(agency, XCH_TESTKEY_AGENCY, canon_text, strlen(canon_text),
		false, &sig), 0);
	sig_layout_of(&sig, &l);

	/* an unhashed subpacket added, after or before the issuer */
	{
		unsigned char area[2 + 20];
		area[0] = 0;
		area[1] = (unsigned char)(10 + sizeof(notation));
		memcpy(area + 2, sig.ptr + l.unhashed + 2, 10);
		memcpy(area + 12, notation, sizeof(notation));
		splice(&odd, &sig, l.unhashed, 12, area, 12 + sizeof(notation));
		expect_not_canonical(&odd, "unhashed subpackets");
		memcpy(area + 2, notation, sizeof(notation));
		memcpy(area + 2 + sizeof(notation), sig.ptr + l.unhashed + 2, 10);
		splice(&odd, &sig, l.unhashed, 12, area, 12 + sizeof(notation));
		expect_not_canonical(&odd, "unhashed subpackets");
		/* the issuer twice */
		area[1] = 20;
		memcpy(area + 2, sig.ptr + l.unhashed + 2, 10);
		memcpy(area + 12, sig.ptr + l.unhashed + 2, 10);
		splice(&odd, &sig, l.unhashed, 12, area, 22);
		expect_not_canonical(&odd, "unhashed subpackets");
	}
	/* no unhashed subpacket (gpg finds the key by the hashed issuer fingerprint) */
	splice(&odd, &sig, l.unhashed, 12, "\0\0", 2);
	expect_not_canonical(&odd, "unhashed subpackets");
	/* the issuer key id marked critical, or naming the primary key */
	splice(&odd, &sig, 0, 0, "", 0);
	odd.ptr[l.unhashed + 3] = (char)0x90;
	assert_int_equal(verify_canon(odd.ptr, odd.size), XCH_EBADSIG);
	splice(&odd, &sig, l.unhashed + 4, 8, agency_primary, 8);
	expect_not_canonical(&odd, "is not the signing key");
	/* the header with two length octets */
	hdr[0] = 0x89;
	hdr[1] = 0;
	hdr[2] = (unsigned char)(sig.size - 2);
	xch_buf_clear(&odd);
	assert_int_equal(xch_buf_put(&odd, hdr, 3), 0);
	assert_int_equal(xch_buf_put(&odd, sig.ptr + 2, sig.size - 2), 0);
	expect_not_canonical(&odd, "fewest octets");
	/* an MPI with a leading zero byte */
	{
		size_t bits = (((size_t)(unsigned char)sig.ptr[l.mpi1] << 8) | (unsigned char)sig.ptr[l.mpi1 + 1]) + 8;
		unsigned char pad[3] = { (unsigned char)(bits >> 8), (unsigned char)bits, 0 };
		splice(&odd, &sig, l.mpi1, 2, pad, 3);
		assert_int_equal(verify_canon(odd.ptr, odd.size), XCH_EBADSIG);
	}
	/* the wrong 16-bit digest check, each byte */
	splice(&odd, &sig, 0, 0, "", 0);
	odd.ptr[l.left16 + 1] ^= 0x10;
	expect_not_canonical(&odd, "16-bit digest check");
	odd.ptr[l.left16 + 1] ^= 0x10;
	odd.ptr[l.left16] ^= 0x10;
	assert_int_equal(verify_canon(odd.ptr, odd.size), XCH_EBADSIG);

	/* other hash algorithms: SHA-384 and SHA-512 are fine, SHA-1 is not */
	snprintf(in, sizeof(in), "%s/canon.json", home_agency);
	snprintf(out, sizeof(out), "%s/canon.sig", home_agency);
	write_file(in, canon_text, strlen(canon_text));
	{
		static const char *const algos[] = { "SHA384", "SHA512", "SHA1", "RIPEMD160" };
		for (size_t a = 0; a < XCH_ARRAY_SIZE(algos); a++) {
			unlink(out);
			assert_int_equal(run_gpg(home_agency, (const char *[]){ "-u", XCH_TESTKEY_AGENCY,
				"--digest-algo", algos[a], "--output", out, "--detach-sign", in, NULL }), 0);
			xch_buf_clear(&odd);
			assert_int_equal(xch_file_read(&odd, out, 1 << 20, 0), 0);
			if (a < 2)
				assert_int_equal(verify_canon(odd.ptr, odd.size), 0);
			else
				expect_not_canonical(&odd, "hash algorithm");
		}
	}
	/* a text-mode signature (type 0x01) */
	unlink(out);
	assert_int_equal(run_gpg(home_agency, (const char *[]){ "-u", XCH_TESTKEY_AGENCY, "--textmode",
		"--output", out, "--detach-sign", in, NULL }), 0);
	xch_buf_clear(&odd);
	assert_int_equal(xch_file_read(&odd, out, 1 << 20, 0), 0);
	expect_not_canonical(&odd, "signature type 0x01");
	unlink(out);
	unlink(in);
	xch_buf_dispose(&odd);
	xch_buf_dispose(&sig);
}

/* The Ed25519 group order, big-endian. */
static const char ed25519_order_hex[] = "1000000000000000000000000000000014DEF9DEA2F79CD65812631A5CF5D3ED";

/* An EdDSA S plus the group order verifies with gpg: refused. */
static void test_detached_eddsa_s_unreduced(void **state)
{
	xch_buf sig = XCH_BUF_INIT, odd = XCH_BUF_INIT;
	unsigned char le[32], be[32];
	BIGNUM *v, *order = NULL;
	BN_CTX *bn = BN_CTX_new();
	sig_layout l;
	size_t i, len;

	assert_int_equal(xch_crypto_sign_detached(agency, XCH_TESTKEY_AGENCY, canon_text, strlen(canon_text),
		false, &sig), 0);
	sig_layout_of(&sig, &l);
	assert_int_equal((unsigned char)sig.ptr[l.hlen + 2], 22);
	/* S is the MPI of its little-endian octets (least significant zero octets dropped) */
	len = (be16_at(&sig, l.mpi2) + 7) / 8;
	memset(le, 0, sizeof(le));
	memcpy(le + 32 - len, sig.ptr + l.mpi2 + 2, len);
	for (i = 0; i < 32; i++)
		be[i] = le[31 - i];
	assert_non_null(v = BN_bin2bn(be, 32, NULL));
	assert_true(BN_hex2bn(&order, ed25519_order_hex) > 0);
	assert_int_equal(BN_add(v, v, order), 1);
	assert_int_equal(BN_bn2binpad(v, be, 32), 32);
	for (i = 0; i < 32; i++)
		le[i] = be[31 - i];
	BN_free(v);
	assert_non_null(v = BN_bin2bn(le, 32, NULL));
	replace_mpi(&odd, &sig, l.mpi2, v);
	expect_not_canonical(&odd, "not below the group order");
	BN_free(v);
	BN_free(order);
	BN_CTX_free(bn);
	xch_buf_dispose(&odd);
	xch_buf_dispose(&sig);
}

/* A throwaway key of algo made now in home, its fingerprint into fpr. */
static void make_key(xch_crypto *c, const char *home, const char *uid, const char *algo, char fpr[41])
{
	xch_key_info ki;

	assert_int_equal(run_gpg(home, (const char *[]){ "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", uid, algo, "sign", "never", NULL }), 0);
	assert_int_equal(xch_crypto_key_info(c, uid, true, &ki), 0);
	memcpy(fpr, ki.fpr, 41);
}

/*
 * RSA and ECDSA signatures verify; an RSA signature plus the modulus
 * (which gpg takes) does not. ECDSA's (r, n - s) cannot be told apart.
 */
static void test_detached_rsa_ecdsa(void **state)
{
	char *home = xch_testkeys_home(NULL);
	char rsa[41], ec[41], path[64];
	xch_crypto *c = NULL;
	xch_buf sig = XCH_BUF_INIT, odd = XCH_BUF_INIT, key = XCH_BUF_INIT;
	sig_layout l;
	BIGNUM *s, *n;
	size_t off;

	assert_non_null(home);
	assert_int_equal(xch_crypto_new(&c, home), 0);
	make_key(c, home, "RSA <rsa@xch.test>", "rsa2048", rsa);
	make_key(c, home, "ECDSA <ecdsa@xch.test>", "nistp256", ec);

	/* RSA: good; plus the modulus: refused */
	assert_int_equal(xch_crypto_sign_detached(c, rsa, canon_text, strlen(canon_text), false, &sig), 0);
	sig_layout_of(&sig, &l);
	assert_int_equal(l.mpi2, 0);
	if (verify_as(c, rsa, sig.ptr, sig.size) != 0)
		fail_msg("%s", xch_error_last()->message);
	snprintf(path, sizeof(path), "%s/rsa.pub", home);
	assert_int_equal(xch_testkeys_run((const char *[]){ "gpg", "--homedir", home, "--batch", "--quiet",
		"--export", rsa, NULL }, path), 0);
	assert_int_equal(xch_file_read(&key, path, 1 << 20, 0), 0);
	/* the primary key packet: old format, 2 length octets; version, time, algorithm 1, n */
	assert_int_equal((unsigned char)key.ptr[0], 0x99);
	assert_int_equal(key.ptr[3], 4);
	assert_int_equal(key.ptr[8], 1);
	off = 9;
	n = mpi_value(&key, off);
	s = mpi_value(&sig, l.mpi1);
	assert_int_equal(BN_add(s, s, n), 1);
	replace_mpi(&odd, &sig, l.mpi1, s);
	expect_not_canonical_as(c, &odd, "not below the modulus");
	/* the issuer key id still counts */
	splice(&odd, &sig, l.unhashed + 4, 1, "\x55", 1);
	if (sig.ptr[l.unhashed + 4] != 0x55)
		expect_not_canonical_as(c, &odd, "is not the signing key");
	BN_free(s);
	BN_free(n);

	/* ECDSA: good; (r, s + n) refused by gpg */
	xch_buf_clear(&sig);
	assert_int_equal(xch_crypto_sign_detached(c, ec, canon_text, strlen(canon_text), false, &sig), 0);
	sig_layout_of(&sig, &l);
	assert_int_equal((unsigned char)sig.ptr[l.hlen + 2], 19);
	assert_int_equal(verify_as(c, ec, sig.ptr, sig.size), 0);
	n = NULL;
	assert_true(BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551") > 0);
	s = mpi_value(&sig, l.mpi2);
	assert_int_equal(BN_add(s, s, n), 1);
	replace_mpi(&odd, &sig, l.mpi2, s);
	assert_int_equal(verify_as(c, ec, odd.ptr, odd.size), XCH_EBADSIG);
	BN_free(s);
	s = mpi_value(&sig, l.mpi2);
	assert_int_equal(BN_sub(s, n, s), 1);
	replace_mpi(&odd, &sig, l.mpi2, s);
	print_message("# ECDSA (r, n - s): %s\n", verify_as(c, ec, odd.ptr, odd.size) == 0 ?
		"verifies (ECDSA signatures are malleable)" : xch_error_last()->message);
	BN_free(s);
	BN_free(n);

	xch_crypto_free(c);
	xch_buf_dispose(&key);
	xch_buf_dispose(&odd);
	xch_buf_dispose(&sig);
	xch_testkeys_home_remove(home);
}

static void test_key_info_and_check(void **state)
{
	xch_key_info ki;
	char lower[41];

	/* company's own key, by a lowercase fingerprint */
	for (size_t i = 0; i < 41; i++)
		lower[i] = (char)(XCH_TESTKEY_COMPANY[i] >= 'A' ? XCH_TESTKEY_COMPANY[i] + 32 : XCH_TESTKEY_COMPANY[i]);
	assert_int_equal(xch_crypto_key_info(company, lower, false, &ki), 0);
	assert_string_equal(ki.fpr, XCH_TESTKEY_COMPANY);
	assert_string_equal(ki.uid, "Company <company@xch.test>");
	assert_true(ki.has_secret && ki.can_sign && ki.can_encrypt);
	assert_false(ki.revoked || ki.expired || ki.disabled || ki.invalid);
	assert_int_equal(ki.expires, 0);
	assert_int_equal(ki.created, 1546300800); /* 2019-01-01 */
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_COMPANY, true, true), 0);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_COMPANY, false, true), 0);
	assert_int_equal(xch_crypto_key_info(company, XCH_TESTKEY_COMPANY, true, &ki), 0);

	/* a partner's public key */
	assert_int_equal(xch_crypto_key_info(company, XCH_TESTKEY_AGENCY, false, &ki), 0);
	assert_false(ki.has_secret);
	assert_true(ki.can_sign && ki.can_encrypt);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_AGENCY, true, false), 0);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_AGENCY, true, true), XCH_ENOTFOUND);
	assert_int_equal(xch_crypto_key_info(company, XCH_TESTKEY_AGENCY, true, &ki), XCH_ENOTFOUND);

	/* expired */
	assert_int_equal(xch_crypto_key_info(company, XCH_TESTKEY_EXPIRED, false, &ki), 0);
	assert_true(ki.expired);
	assert_false(ki.can_sign || ki.can_encrypt);
	assert_int_equal(ki.expires, 1609372800); /* 2020-12-31 */
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_EXPIRED, true, false), XCH_EKEYEXPIRED);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_EXPIRED, false, false), XCH_EKEYEXPIRED);

	/* revoked */
	assert_int_equal(xch_crypto_key_info(company, XCH_TESTKEY_REVOKED, false, &ki), 0);
	assert_true(ki.revoked);
	assert_false(ki.can_sign || ki.can_encrypt);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_REVOKED, true, false), XCH_EKEYREVOKED);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_REVOKED, false, false), XCH_EKEYREVOKED);

	/* absent, ambiguous, a subkey's fingerprint, a key id */
	assert_int_equal(xch_crypto_key_info(company, XCH_TESTKEY_MALLORY, false, &ki), XCH_ENOTFOUND);
	assert_int_equal(xch_crypto_check_key(company, XCH_TESTKEY_MALLORY, false, false), XCH_ENOTFOUND);
	assert_int_equal(xch_crypto_key_info(company, "xch.test", false, &ki), XCH_EINVALID);
	assert_int_equal(xch_crypto_key_info(company, "<site@xch.test>", false, &ki), 0);
	assert_string_equal(ki.fpr, XCH_TESTKEY_SITE);
	assert_int_equal(xch_crypto_key_info(company, "", false, &ki), XCH_EINVALID);
	{
		xch_buf ids = XCH_BUF_INIT;
		bool has = true;
		assert_int_equal(xch_crypto_encryption_keyids(company, XCH_TESTKEY_SITE, false, &ids), 0);
		assert_int_equal(ids.size, 17);
		ids.ptr[16] = '\0';
		assert_int_equal(xch_crypto_key_info(company, ids.ptr, false, &ki), 0);
		assert_string_equal(ki.fpr, XCH_TESTKEY_SITE);
		assert_int_equal(xch_crypto_key_has_keyid(company, XCH_TESTKEY_AGENCY, ids.ptr, &has), 0);
		assert_false(has);
		assert_int_equal(xch_crypto_key_has_keyid(company, XCH_TESTKEY_SITE, ids.ptr, &has), 0);
		assert_true(has);
		assert_int_equal(xch_crypto_key_has_keyid(company, XCH_TESTKEY_SITE, "12", &has), XCH_EINVALID);
		/* the expired key's encryption subkey is listed unless only usable ones are asked for */
		xch_buf_clear(&ids);
		assert_int_equal(xch_crypto_encryption_keyids(company, XCH_TESTKEY_EXPIRED, false, &ids), 0);
		assert_int_equal(ids.size, 17);
		xch_buf_clear(&ids);
		assert_int_equal(xch_crypto_encryption_keyids(company, XCH_TESTKEY_EXPIRED, true, &ids), 0);
		assert_int_equal(ids.size, 0);
		xch_buf_dispose(&ids);
	}
	{
		char fpr[41];
		assert_int_equal(xch_crypto_fpr_normalize(fpr, lower), 0);
		assert_string_equal(fpr, XCH_TESTKEY_COMPANY);
		assert_int_equal(xch_crypto_fpr_normalize(fpr, "ABC"), XCH_EINVALID);
	}
}

static void test_import_export(void **state)
{
	char *home = xch_testkeys_home(NULL);
	xch_crypto *c = NULL;
	xch_buf fprs = XCH_BUF_INIT, both = XCH_BUF_INIT, armored = XCH_BUF_INIT;
	char path[1024];
	xch_key_info ki;

	assert_non_null(home);
	assert_int_equal(xch_crypto_new(&c, home), 0);
	assert_string_equal(xch_crypto_homedir(c), home);

	assert_int_equal(xch_testkeys_path(path, sizeof(path), "agency.sec.asc"), 0);
	assert_int_equal(xch_crypto_import_file(c, path, &fprs), 0);
	assert_string_equal(fprs.ptr, XCH_TESTKEY_AGENCY "\n");
	assert_int_equal(xch_crypto_key_info(c, XCH_TESTKEY_AGENCY, true, &ki), 0);
	assert_true(ki.has_secret);
	/* again: already present, still reported */
	xch_buf_clear(&fprs);
	assert_int_equal(xch_crypto_import_file(c, path, &fprs), 0);
	assert_string_equal(fprs.ptr, XCH_TESTKEY_AGENCY "\n");

	/* two public keys in one buffer */
	read_fixture(&armored, "company.pub.asc");
	assert_int_equal(xch_buf_put(&both, armored.ptr, armored.size), 0);
	read_fixture(&armored, "site.pub.asc");
	assert_int_equal(xch_buf_put(&both, armored.ptr, armored.size), 0);
	xch_buf_clear(&armored);
	xch_buf_clear(&fprs);
	assert_int_equal(xch_crypto_import_buffer(c, both.ptr, both.size, &fprs), 0);
	assert_string_equal(fprs.ptr, XCH_TESTKEY_COMPANY "\n" XCH_TESTKEY_SITE "\n");

	/* export, and the export imports elsewhere */
	assert_int_equal(xch_crypto_export(c, XCH_TESTKEY_SITE, &armored), 0);
	assert_int_equal(strncmp(armored.ptr, "-----BEGIN PGP PUBLIC KEY BLOCK-----", 36), 0);
	assert_null(strstr(armored.ptr, "PRIVATE"));
	xch_buf_clear(&fprs);
	assert_int_equal(xch_crypto_import_buffer(company, armored.ptr, armored.size, &fprs), 0);
	assert_string_equal(fprs.ptr, XCH_TESTKEY_SITE "\n");
	assert_int_equal(xch_crypto_export(c, XCH_TESTKEY_MALLORY, &armored), XCH_ENOTFOUND);

	/* not keys */
	xch_buf_clear(&fprs);
	assert_int_equal(xch_crypto_import_buffer(c, "hello", 5, &fprs), XCH_EMALFORMED);
	assert_int_equal(fprs.size, 0);
	assert_int_equal(xch_crypto_import_buffer(c, "", 0, &fprs), XCH_EMALFORMED);
	assert_int_equal(xch_crypto_import_file(c, "/nonexistent/key.asc", &fprs), XCH_ENOTFOUND);

	xch_crypto_free(c);
	c = NULL;

	/* no home given: GNUPGHOME */
	setenv("GNUPGHOME", home, 1);
	assert_int_equal(xch_crypto_new(&c, NULL), 0);
	assert_null(xch_crypto_homedir(c));
	assert_int_equal(xch_crypto_key_info(c, XCH_TESTKEY_AGENCY, true, &ki), 0);
	assert_string_equal(ki.fpr, XCH_TESTKEY_AGENCY);
	unsetenv("GNUPGHOME");
	xch_crypto_free(c);

	xch_buf_dispose(&fprs);
	xch_buf_dispose(&both);
	xch_buf_dispose(&armored);
	xch_testkeys_home_remove(home);
}

static void test_callback_errors(void **state)
{
	const char *rcpts[] = { XCH_TESTKEY_COMPANY };
	gen_reader g = { 7, 5u << 20, NULL, 3, 0 };
	hash_writer h = { NULL, 0, true };
	xch_buf cipher = XCH_BUF_INIT;
	xch_crypto *c = NULL;

	/* a reader failing half-way: its error comes back as it set it */
	assert_int_equal(xch_sha256_new(&g.sha), 0);
	assert_int_equal(xch_crypto_sign_encrypt(agency, XCH_TESTKEY_AGENCY, rcpts, 1, false,
		gen_read, &g, buf_write, &cipher), XCH_EOS);
	assert_string_equal(xch_error_last()->message, "test reader failed on purpose");
	xch_sha256_free(g.sha);

	/* a writer failing */
	xch_buf_clear(&cipher);
	make_message(&cipher);
	assert_int_equal(xch_sha256_new(&h.sha), 0);
	{
		mem_reader m = { (const unsigned char *)cipher.ptr, cipher.size, 0 };
		assert_int_equal(xch_crypto_decrypt_verify(company, mem_read, &m, hash_write, &h, NULL), XCH_EOS);
		assert_string_equal(xch_error_last()->message, "test writer failed on purpose");
	}
	xch_sha256_free(h.sha);

	/* bad arguments */
	assert_int_equal(xch_crypto_sign_encrypt(agency, XCH_TESTKEY_AGENCY, rcpts, 0, false,
		gen_read, &g, buf_write, &cipher), XCH_EINVALID);
	assert_int_equal(xch_crypto_new(&c, "/nonexistent/gnupg"), XCH_ENOTFOUND);
	assert_null(c);
	xch_buf_dispose(&cipher);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_streamed_multi_recipient),
		cmocka_unit_test(test_roundtrip_armored),
		cmocka_unit_test(test_empty_plaintext),
		cmocka_unit_test(test_not_for_us),
		cmocka_unit_test(test_unknown_signer),
		cmocka_unit_test(test_revoked_signer),
		cmocka_unit_test(test_expired_signer),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_refuses_odd_messages),
		cmocka_unit_test(test_refuses_passphrase_and_extra_messages),
		cmocka_unit_test(test_small_reads),
		cmocka_unit_test(test_detached),
		cmocka_unit_test(test_detached_every_byte),
		cmocka_unit_test(test_detached_truncated_and_extended),
		cmocka_unit_test(test_detached_not_canonical),
		cmocka_unit_test(test_detached_eddsa_s_unreduced),
		cmocka_unit_test(test_detached_rsa_ecdsa),
		cmocka_unit_test(test_key_info_and_check),
		cmocka_unit_test(test_import_export),
		cmocka_unit_test(test_callback_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
