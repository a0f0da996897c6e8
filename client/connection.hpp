// Statements over libpq for the client: text parameters (values never in the SQL text),
// results as text, a failed statement as a Failure with the server's fields.
#pragma once

#include <libpq-fe.h>

#include <optional>
#include <string>
#include <vector>

#include "catalog_source.hpp"
#include "failure.hpp"

namespace test_cleanup::client {

using Params = std::vector<std::optional<std::string>>;

// Runs one statement; throws Failure when the server refuses it.
TextRows exec(PGconn *conn, const std::string &sql, const Params &params = {});

// The same for a fixed statement of the client's, as a statement prepared on this connection
// under `name` on first use: a pooled connection (the shim's) parses and plans it once.
TextRows exec_fixed(PGconn *conn, const char *name, const std::string &sql,
                    const Params &params = {});

// The fields of a failed result (or of the connection, when there is no result).
Failure failure_of(PGconn *conn, const PGresult *result);

}  // namespace test_cleanup::client
