// Dapper.AOT replaces each Dapper call in this assembly with code generated at build time, so the storage layer needs
// no Reflection.Emit and runs in a Native AOT build of the worker (docs/PERFORMANCE.md, goal 6). Results bind by column
// name to records (the generator binds no tuples); tests/Roadmap.Storage.Tests covers each query.
[module: Dapper.DapperAot]
