using Roadmap.Sources.Tests.Sql;

namespace Roadmap.Storage.Tests.Postgres;

// The shared storage tests on the PostgreSQL backend: one real server per class, a database of its own per test.

public sealed class PostgresSampleReadSessionTests(PostgresServer server) : SampleReadSessionTests(new PostgresTestBackend(server)), IClassFixture<PostgresServer>;

public sealed class PostgresBatchedWriterTests(PostgresServer server) : BatchedWriterTests(new PostgresTestBackend(server)), IClassFixture<PostgresServer>;

public sealed class PostgresCompactionTests(PostgresServer server) : CompactionTests(new PostgresTestBackend(server)), IClassFixture<PostgresServer>;

public sealed class PostgresRollupTests(PostgresServer server) : RollupTests(new PostgresTestBackend(server)), IClassFixture<PostgresServer>;

public sealed class PostgresEvaluationStoreTests(PostgresServer server) : EvaluationStoreTests(new PostgresTestBackend(server)), IClassFixture<PostgresServer>;
