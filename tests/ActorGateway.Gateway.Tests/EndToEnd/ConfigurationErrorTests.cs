using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.EndToEnd;

/// <summary>
/// A configuration the node cannot run with stops the real node process at once: exit code 1
/// and one line on stderr naming the file, the key (its full HOCON path) and the problem,
/// without a stack trace.
/// </summary>
public sealed class ConfigurationErrorTests
{
    public static TheoryData<string, string, string, string> Cases => new()
    {
        // name, HOCON ({dir} = the test's directory), key, problem
        { "syntax: no value", "gateway {\n  smtp {\n    max-message-size =\n  }\n}\n", "gateway.smtp.max-message-size", "line 3: no value after '='" },
        { "syntax: unclosed brace", "gateway {\n  smtp.max-recipients = 5\n", "gateway", "line 1: the '{' opened on line 1 is not closed" },
        { "wrong type: size", "gateway.smtp.max-message-size = lots\n", "gateway.smtp.max-message-size", "'lots' is not a whole number" },
        { "wrong type: duration", "gateway.delivery.queue-wait = soon\n", "gateway.delivery.queue-wait", "'soon' is not a duration" },
        { "wrong type: switch", "gateway.tenants.acme { domains = [\"acme.example\"], rate-limit.enabled = maybe }\n",
            "gateway.tenants.acme.rate-limit.enabled", "'maybe' is not on or off" },
        { "unknown tenant key", "gateway.tenants.acme { networks = [\"192.0.2.0/24\"], domians = [\"acme.example\"] }\n",
            "gateway.tenants.acme.domians", "unknown key (known here: networks, users, password-file, domains" },
        { "missing DKIM key", "gateway.dkim.keys { \"acme.example\" { selector = s1, key = \"{dir}/none.pem\" } }\n",
            "gateway.dkim.keys.\"acme.example\".key", "{dir}/none.pem: no such file" },
        { "missing TLS certificate", "gateway.smtp.endpoints = [ { address = \"127.0.0.1\", port = 1, certificate = \"{dir}/none.crt\", key = \"{dir}/none.key\" } ]\n",
            "gateway.smtp.endpoints[0].certificate", "{dir}/none.crt: no such file" },
        { "missing token file", "gateway.operations.token-file = \"{dir}/none.token\"\n", "gateway.operations.token-file", "{dir}/none.token: no such file" },
        { "unreadable read token file", "gateway.operations.read-token-file = \"{dir}\"\n", "gateway.operations.read-token-file", "{dir} is a directory, not a file" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_configuration_stops_the_node_with_one_line_naming_file_key_and_problem(string name, string hocon, string key, string problem)
    {
        using var dir = new TempDirectory();
        var file = dir.File("bad.conf");
        // After the case's lines (so that their line numbers hold): nothing the node could listen on by default, should it start after all.
        await File.WriteAllTextAsync(file, hocon.Replace("{dir}", dir.Path) + $"gateway.data-dir = \"{dir.File("data")}\"\ngateway.operations.port = 0\n");

        var started = DateTime.UtcNow;
        var node = await ExternalProcess.RunAsync("dotnet", [GatewayProcess.NodeAssembly, "--config", file], TimeSpan.FromSeconds(30));
        var took = DateTime.UtcNow - started;

        Assert.True(node.ExitCode == 1, $"{name}: {node}");
        var lines = node.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var line = Assert.Single(lines);
        Assert.Equal($"ActorGateway: cannot start: {file}: {key}: ", line[..Math.Min(line.Length, $"ActorGateway: cannot start: {file}: {key}: ".Length)]);
        Assert.Contains(problem.Replace("{dir}", dir.Path), line);
        Assert.DoesNotContain("   at ", node.StandardOutput + node.StandardError);
        Assert.Equal("", node.StandardOutput);
        Assert.True(took < TimeSpan.FromSeconds(10), $"{name}: the node took {took} to refuse its configuration");
    }
}
