// Umbrella header for the LSIO public API.
#pragma once

#include "lsio/byte_range.h"
#include "lsio/bytes.h"
#include "lsio/status.h"
#include "lsio/store.h"
