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
		cmocka_unit_test(test_key_info_and_check),
		cmocka_unit_test(test_import_export),
		cmocka_unit_test(test_callback_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
