#ifndef XCH_PRIV_TRANSPORT_H
#define XCH_PRIV_TRANSPORT_H

#include "common.h"
#include "json.h"

/*
 * Seal into dir what each partner (of opts->partners, or all) is owed: a
 * bundle of what it has not acknowledged, unless that went out already,
 * and a receipt if one is pending. index, if not NULL, gets an entry per file.
 */
int xch_transport_seal_pending(xch_transport_result *out, xch_store *s, const char *dir,
                               const xch_transport_options *opts, json_t *index);

#endif
