/*
 * libexchange: signed, encrypted, versioned exchange of security records.
 * This umbrella header includes every public module.
 */
#ifndef XCH_EXCHANGE_H
#define XCH_EXCHANGE_H

#include "exchange/common.h"
#include "exchange/errors.h"
#include "exchange/buf.h"
#include "exchange/global.h"
#include "exchange/schema.h"
#include "exchange/record.h"
#include "exchange/store.h"
#include "exchange/partner.h"
#include "exchange/bundle.h"
#include "exchange/import.h"
#include "exchange/transport.h"

#endif
