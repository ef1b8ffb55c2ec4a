using System.Diagnostics;

namespace Shortlink.Tests.Support;

/// <summary>ops/stack run by a test, with the environment that gives it a directory and ports of the test's own.</summary>
internal static class LocalStack
{
    public sealed record Result(int ExitCode, string Output, string Errors);

    public static async Task<Result> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var info = new ProcessStartInfo(Path.Combine(Repository.Root, "ops", "stack"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var stack = Process.Start(info)!;
        var output = stack.StandardOutput.ReadToEndAsync();
        var errors = stack.StandardError.ReadToEndAsync();
        await stack.WaitForExitAsync();
        return new Result(stack.ExitCode, await output, await errors);
    }

    /// <summary>Runs it and throws with what it said when it fails.</summary>
    public static async Task<Result> RunOrThrowAsync(IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        var result = await RunAsync(environment, arguments);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"ops/stack {string.Join(' ', arguments)} failed ({result.ExitCode}): {result.Errors}{result.Output}");
        }
        return result;
    }
}
