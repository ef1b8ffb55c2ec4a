// A bare ASP.NET Core app that redirects the benchmark's codes from a FrozenDictionary: no packages, no
// middleware, logging at Warning. Usage: dotnet Baseline.dll CODES_FILE (one "code url" pair per line).
using System.Collections.Frozen;

var targets = File.ReadLines(args[0])
    .Select(line => line.Split(' ', 2))
    .ToFrozenDictionary(pair => pair[0], pair => pair[1], StringComparer.Ordinal);
var builder = WebApplication.CreateSlimBuilder(args[1..]);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
app.MapGet("/{code}", (string code) => targets.TryGetValue(code, out var url) ? Results.Redirect(url) : Results.NotFound());
app.Run();
