// The SQL-callable functions and the settings. Kept thin: argument checks and the gate in
// plain PostgreSQL C style, then the C++ body through call_guarded(), which raises any
// failure from a frame that holds no C++ objects (see boundary.hpp).
// nlohmann/json (in outcome.hpp) first: PostgreSQL's port.h redefines snprintf.
#include "outcome.hpp"

#include <string>

#include "boundary.hpp"
#include "execute.hpp"
#include "plan_cache.hpp"

extern "C" {
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

void _PG_init(void);
PG_FUNCTION_INFO_V1(test_cleanup_run);
PG_FUNCTION_INFO_V1(test_cleanup_explain);
PG_FUNCTION_INFO_V1(test_cleanup_clean_sessions);
PG_FUNCTION_INFO_V1(test_cleanup_require_enabled);
PG_FUNCTION_INFO_V1(test_cleanup_marker);
PG_FUNCTION_INFO_V1(test_cleanup_auto_tag_trigger);
}

namespace {

bool cleanup_enabled = false;    // test_cleanup.enabled: off, so production is safe by default
char *cleanup_marker = nullptr;  // test_cleanup.marker: the value of test_marker to match
bool skip_fk_checks = false;     // test_cleanup.skip_fk_checks: off, PostgreSQL checks as usual
bool lock_tables = false;        // test_cleanup.lock_tables: off, row locks and the sweep
// test_cleanup.transient_indexes: auto, build the missing indexes a cleanup's lookups need
// where its estimate says they pay.
int transient_indexes = static_cast<int>(test_cleanup::IndexMode::automatic);

const config_enum_entry kTransientIndexModes[] = {
    {"auto", static_cast<int>(test_cleanup::IndexMode::automatic), false},
    {"on", static_cast<int>(test_cleanup::IndexMode::on), false},
    {"off", static_cast<int>(test_cleanup::IndexMode::off), false},
    {"true", static_cast<int>(test_cleanup::IndexMode::on), true},
    {"false", static_cast<int>(test_cleanup::IndexMode::off), true},
    {"yes", static_cast<int>(test_cleanup::IndexMode::on), true},
    {"no", static_cast<int>(test_cleanup::IndexMode::off), true},
    {"1", static_cast<int>(test_cleanup::IndexMode::on), true},
    {"0", static_cast<int>(test_cleanup::IndexMode::off), true},
    {nullptr, 0, false}};

// test_cleanup.session: the test session whose rows this connection writes (auto_tag()).
// Empty (the default): none, nothing is tagged.
char *tagging_session = nullptr;

bool valid_session_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

// The characters and length the HTTP API accepts for a session id, so a tagged row can
// always be cleaned over HTTP too.
bool check_tagging_session(char **value, void **, GucSource) {
  const char *text = *value ? *value : "";
  const size_t length = strlen(text);
  bool valid = length <= 128;
  for (size_t i = 0; valid && i < length; ++i) valid = valid_session_char(text[i]);
  if (valid) return true;
  GUC_check_errdetail(
      "A test session id has at most 128 of the characters A-Z a-z 0-9 _ . : -, e.g. the "
      "value test_cleanup.new_session() returns.");
  return false;
}

bool check_marker(char **value, void **, GucSource) {
  if (*value && (*value)[0] != '\0') return true;
  GUC_check_errdetail("The marker must be a non-empty string, e.g. integration_test_data.");
  return false;
}

// A refusal before any work: logged like every other call, then raised.
[[noreturn]] void refuse(const char *label, int sqlstate, const char *message, const char *detail,
                         const char *hint) {
  ereport(LOG, (errmsg("test_cleanup: cleanup failed session=%s sqlstate=%s error=%s", label,
                       unpack_sql_state(sqlstate), message),
                errhidestmt(true)));
  ereport(ERROR, (errcode(sqlstate), errmsg_internal("%s", message),
                  errdetail_internal("%s", detail), errhint("%s", hint)));
  pg_unreachable();
}

void require_enabled(const char *label) {
  if (cleanup_enabled) return;
  refuse(label, ERRCODE_INSUFFICIENT_PRIVILEGE, "test_cleanup is disabled in this database",
         "The setting test_cleanup.enabled is off. It is off by default so that no production "
         "database can lose data by accident.",
         psprintf("On a test database, a superuser can enable it with: ALTER DATABASE %s SET "
                  "test_cleanup.enabled = on; (new sessions pick it up), or SET "
                  "test_cleanup.enabled = on; in a superuser session.",
                  quote_identifier(get_database_name(MyDatabaseId))));
}

// Reads the session argument: NULL means every session.
char *session_argument(FunctionCallInfo fcinfo) {
  return PG_ARGISNULL(0) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(0));
}

// An empty string is a mistake, never a way to say "all sessions".
void require_session_not_empty(const char *session, const char *label) {
  if (!session || session[0] != '\0') return;
  refuse(label, ERRCODE_INVALID_PARAMETER_VALUE, test_cleanup::kEmptySessionMessage,
         test_cleanup::kEmptySessionDetail, test_cleanup::kEmptySessionHint);
}

// One cleanup as this call and the settings ask for it.
test_cleanup::CleanupRequest make_request(const char *session, const char *label,
                                          const char *marker, const char *role, bool dry_run) {
  test_cleanup::CleanupRequest request;
  if (session) request.session = session;
  request.marker = marker;
  request.session_label = label;
  request.role = role;
  request.skip_fk_checks = skip_fk_checks;
  request.lock_tables = lock_tables;
  request.transient_indexes = static_cast<test_cleanup::IndexMode>(transient_indexes);
  request.dry_run = dry_run;
  return request;
}

// The session as a JSON string for the server log, where it cannot break a line.
char *session_label(const char *session) {
  if (!session) return pstrdup("null");
  StringInfoData label;
  initStringInfo(&label);
  escape_json(&label, session);
  return label.data;
}

void log_failure(const char *label, const test_cleanup::Failure &failure) {
  const ErrorData *edata = failure.pg_error;
  ereport(LOG, (errmsg("test_cleanup: cleanup failed session=%s sqlstate=%s error=%s", label,
                       edata ? unpack_sql_state(edata->sqlerrcode) : failure.sqlstate,
                       edata ? edata->message : failure.message),
                errhidestmt(true)));
}

// Re-raises a dry run's failure after rolling its subtransaction back: the error is
// copied out of the subtransaction's memory first, as PL/Python does.
[[noreturn]] void raise_rolled_back(const test_cleanup::Failure *failure, MemoryContext context,
                                    ResourceOwner owner) {
  PG_TRY();
  { test_cleanup::raise_failure(failure); }
  PG_CATCH();
  {
    MemoryContextSwitchTo(context);
    ErrorData *edata = CopyErrorData();
    FlushErrorState();
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(context);
    CurrentResourceOwner = owner;
    ReThrowError(edata);
  }
  PG_END_TRY();
  pg_unreachable();
}

// Runs the cleanups of `requests` (a guarded C++ body) and raises any failure from this
// frame. A dry run runs them in an internal subtransaction that is then rolled back
// whatever happened: every row, audit row, heartbeat and transient index goes with it,
// and its row and table locks are released. The result lives in the caller's memory
// context, which the subtransaction does not own.
template <typename Requests>
Datum run_cleanup_call(const char *label, bool dry_run, bool keyed, Requests make_requests) {
  static_assert(std::is_trivially_destructible_v<Requests>, "a raised error longjmps over it");
  MemoryContext caller_context = CurrentMemoryContext;
  ResourceOwner caller_owner = CurrentResourceOwner;
  if (dry_run) {
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller_context);
  }
  const Datum result = test_cleanup::call_guarded(
      [&make_requests, keyed] { return test_cleanup::run_cleanups(make_requests(), keyed); },
      [=](const test_cleanup::Failure *failure) {
        log_failure(label, *failure);
        if (dry_run) raise_rolled_back(failure, caller_context, caller_owner);
        test_cleanup::raise_failure(failure);
      });
  if (dry_run) {
    RollbackAndReleaseCurrentSubTransaction();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
  }
  return result;
}

}  // namespace

void _PG_init(void) {
  DefineCustomBoolVariable(
      "test_cleanup.enabled", "Allows test_cleanup() to delete data in this database.",
      "Off by default. Turn it on only for test and development databases, e.g. with ALTER "
      "DATABASE ... SET test_cleanup.enabled = on.",
      &cleanup_enabled, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "test_cleanup.marker", "The test_marker value that marks a row as test data.",
      "A row is a cleanup root when the test-metadata object of a registered root rule has "
      "test_marker equal to this value.",
      &cleanup_marker, "integration_test_data", PGC_SUSET, 0, check_marker, nullptr, nullptr);
  DefineCustomBoolVariable(
      "test_cleanup.skip_fk_checks",
      "Deletes with PostgreSQL's foreign key triggers off (faster), after locking the "
      "tables it writes.",
      "Off by default. The cleanup then also applies ON DELETE SET NULL / SET DEFAULT itself. "
      "User triggers and rules on cleaned tables do not fire while it deletes. For "
      "superuser-run test databases whose rules and foreign keys describe every dependency.",
      &skip_fk_checks, false, PGC_SUSET, 0, nullptr, nullptr, nullptr);
  DefineCustomBoolVariable(
      "test_cleanup.lock_tables",
      "Locks the tables that point at their owners without a foreign key (and the owners of "
      "listed links) against writes while a cleanup runs, instead of locking rows only.",
      "Off by default: a cleanup locks only the rows it deletes, and after its deletes sweeps "
      "up rows that attached to them through links meanwhile. On, writers of those tables "
      "wait for the cleanup, and so do other cleanups.",
      &lock_tables, false, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomEnumVariable(
      "test_cleanup.transient_indexes",
      "Builds, for a cleanup's own transaction, the indexes its lookups need and the database "
      "lacks: auto (where they pay), on or off.",
      "The indexes are dropped before the cleanup returns. While they exist, writers to their "
      "tables wait; see test_cleanup.advise_indexes() for permanent ones.",
      &transient_indexes, static_cast<int>(test_cleanup::IndexMode::automatic),
      kTransientIndexModes, PGC_USERSET, 0, nullptr, nullptr, nullptr);
  DefineCustomStringVariable(
      "test_cleanup.session",
      "The test session whose rows this connection writes: tables enabled with "
      "test_cleanup.auto_tag() mark what it inserts.",
      "Empty by default (nothing is tagged). Any role may set it, e.g. in a connection string: "
      "options=-c test_cleanup.session=test_session_...; tagging acts only where "
      "test_cleanup.enabled is on.",
      &tagging_session, "", PGC_USERSET, 0, check_tagging_session, nullptr, nullptr);
  MarkGUCPrefixReserved("test_cleanup");
  test_cleanup::register_plan_cache_callbacks();
}

// test_cleanup(session text, dry_run boolean)
extern "C" Datum test_cleanup_run(PG_FUNCTION_ARGS) {
  const char *session = session_argument(fcinfo);
  const char *label = session_label(session);
  require_enabled(label);
  require_session_not_empty(session, label);
  const bool dry_run = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
  const char *marker = cleanup_marker;
  // The role that called, as SET ROLE left it: SECURITY DEFINER has switched the current one.
  const char *role = GetUserNameFromId(GetOuterUserId(), false);
  PG_RETURN_DATUM(run_cleanup_call(label, dry_run, false, [=] {
    return std::vector<test_cleanup::CleanupRequest>{
        make_request(session, label, marker, role, dry_run)};
  }));
}

// test_cleanup._clean_sessions(sessions text[], dry_run boolean): one cleanup per session,
// in order, in one transaction (the reaper); an object of results keyed by session id.
extern "C" Datum test_cleanup_clean_sessions(PG_FUNCTION_ARGS) {
  require_enabled("null");
  const bool dry_run = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
  Datum *elements = nullptr;
  bool *nulls = nullptr;
  int count = 0;
  if (!PG_ARGISNULL(0))
    deconstruct_array(PG_GETARG_ARRAYTYPE_P(0), TEXTOID, -1, false, TYPALIGN_INT, &elements, &nulls,
                      &count);
  const char **sessions = static_cast<const char **>(palloc0(sizeof(char *) * (count + 1)));
  const char **labels = static_cast<const char **>(palloc0(sizeof(char *) * (count + 1)));
  for (int i = 0; i < count; ++i) {
    if (nulls[i])
      refuse("null", ERRCODE_NULL_VALUE_NOT_ALLOWED,
             "test_cleanup: a session id in the list is NULL",
             "Each cleanup of the list cleans one named session.",
             "Pass session ids only; test_cleanup() cleans every session.");
    sessions[i] = TextDatumGetCString(elements[i]);
    labels[i] = session_label(sessions[i]);
    require_session_not_empty(sessions[i], labels[i]);
  }
  const char *marker = cleanup_marker;
  const char *role = GetUserNameFromId(GetOuterUserId(), false);
  PG_RETURN_DATUM(run_cleanup_call("null", dry_run, true, [=] {
    std::vector<test_cleanup::CleanupRequest> requests;
    for (int i = 0; i < count; ++i)
      requests.push_back(make_request(sessions[i], labels[i], marker, role, dry_run));
    return requests;
  }));
}

// test_cleanup._require_enabled(): the gate, for what writes outside a cleanup (heartbeat)
// and for the HTTP shim's endpoints that are no cleanup.
extern "C" Datum test_cleanup_require_enabled(PG_FUNCTION_ARGS) {
  require_enabled("null");
  PG_RETURN_VOID();
}

// test_cleanup._marker(): the setting test_cleanup.marker, for the SQL functions. Reading it
// here (rather than with current_setting()) loads the module, so the value is the one
// PostgreSQL accepted for this superuser-only setting, never an unchecked placeholder.
extern "C" Datum test_cleanup_marker(PG_FUNCTION_ARGS) {
  PG_RETURN_TEXT_P(cstring_to_text(cleanup_marker));
}

// The auto-tag trigger (BEFORE INSERT FOR EACH ROW, test_cleanup.auto_tag()). Without a
// session set on the connection, or with the gate closed, it returns the row untouched
// after two variable reads: what every insert of a production application pays. With
// them, it hands the call (same trigger context, same arguments) to the PL/pgSQL function
// test_cleanup._auto_tag(), which writes the metadata into the row. (A WHEN clause would
// decide the same without a function call, but PostgreSQL prepares a trigger's WHEN
// expression once per statement: 10 us a single-row INSERT, measured in bench/auto_tag.py.)
extern "C" Datum test_cleanup_auto_tag_trigger(PG_FUNCTION_ARGS) {
  if (!CALLED_AS_TRIGGER(fcinfo))
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("test_cleanup: the auto-tag function is called by its trigger only")));
  TriggerData *trigger = reinterpret_cast<TriggerData *>(fcinfo->context);
  if (!cleanup_enabled || !tagging_session || tagging_session[0] == '\0')
    return PointerGetDatum(trigger->tg_trigtuple);
  // Found through the catalog cache, not by name resolution: the inserting role needs no
  // privilege on schema test_cleanup (the function is SECURITY DEFINER and reads only the row).
  const Oid schema = get_namespace_oid("test_cleanup", true);
  const Oid tagger =
      OidIsValid(schema)
          ? GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum("_auto_tag"),
                            PointerGetDatum(buildoidvector(nullptr, 0)), ObjectIdGetDatum(schema))
          : InvalidOid;
  if (!OidIsValid(tagger))
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                    errmsg("test_cleanup: function test_cleanup._auto_tag() is missing"),
                    errhint("ALTER EXTENSION test_cleanup UPDATE, or reinstall the extension.")));
  FmgrInfo flinfo;
  fmgr_info(tagger, &flinfo);
  LOCAL_FCINFO(call, 0);
  InitFunctionCallInfoData(*call, &flinfo, 0, InvalidOid, fcinfo->context, nullptr);
  const Datum row = FunctionCallInvoke(call);
  if (call->isnull)
    ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                    errmsg("test_cleanup: test_cleanup._auto_tag() returned no row")));
  return row;
}

// test_cleanup.explain(session): one row per step of the plan.
extern "C" Datum test_cleanup_explain(PG_FUNCTION_ARGS) {
  const char *session = session_argument(fcinfo);
  if (session && session[0] == '\0')
    ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                    errmsg_internal("%s", test_cleanup::kEmptySessionMessage)));
  const char *marker = cleanup_marker;
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo *rsinfo = reinterpret_cast<ReturnSetInfo *>(fcinfo->resultinfo);

  test_cleanup::call_guarded([session, marker, rsinfo] {
    const test_cleanup::CleanupRequest request = make_request(session, "", marker, "", false);
    const std::vector<test_cleanup::ExplainedStep> steps = test_cleanup::explain_cleanup(request);
    for (size_t i = 0; i < steps.size(); ++i) {
      const test_cleanup::ExplainedStep &step = steps[i];
      const int number = static_cast<int>(i) + 1;
      test_cleanup::pg_call([rsinfo, number, &step] {
        Datum values[4] = {Int32GetDatum(number), CStringGetTextDatum(step.stage.c_str()),
                           CStringGetTextDatum(step.tables.c_str()),
                           CStringGetTextDatum(step.sql.c_str())};
        bool nulls[4] = {false, false, step.tables.empty(), false};
        tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
      });
    }
    return static_cast<Datum>(0);
  });
  return static_cast<Datum>(0);
}
