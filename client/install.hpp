// Client mode's plain SQL install: the extension's install script without its C functions,
// plus the gate as a table row (client_only.sql), compiled in by the build
// (client/install_sql.sh). What a managed database's owner role can run: no C, no
// superuser.
#pragma once

#include <libpq-fe.h>

#include <string>

#include "failure.hpp"

namespace test_cleanup::client {

extern const char *const kInstallVersion;
extern const char *const kInstallScript;

// Installs client mode in one transaction, or upgrades it, or finds it installed at this
// version; returns what it did. Throws Failure (nothing changed) where the extension is
// installed or schema test_cleanup belongs to something else.
std::string install(PGconn *conn);

// The refusal where client mode is not installed.
Failure not_installed();

// Opens (true) or closes the database's gate; throws Failure when client mode is not
// installed or the role may not write the gate.
void set_gate(PGconn *conn, bool enabled);

}  // namespace test_cleanup::client
