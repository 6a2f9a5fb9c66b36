using ActorGateway.Mail.Tenants;
using ActorGateway.Node;
using ActorGateway.Node.Configuration;

// ActorGateway.Node [--site NAME] [--config FILE]...
//     run a gateway node; --site NAME adds the shipped hocon/cluster.conf and hocon/NAME.conf
//     (eu-de-01, eu-de-02, eu-de-03); later files override earlier ones
// ActorGateway.Node hash-password        read a password from standard input, print its hash
if (args is ["hash-password"])
{
    var password = Console.In.ReadLine() ?? "";
    Console.WriteLine(PasswordHash.Create(password));
    return 0;
}

var files = new List<string>();
for (var i = 0; i < args.Length; i++)
{
    if (args[i] == "--config" && i + 1 < args.Length) files.Add(args[++i]);
    else if (args[i] == "--site" && i + 1 < args.Length) files.AddRange(GatewayConfig.SiteFiles(args[++i]));
    else { Console.Error.WriteLine($"unknown argument '{args[i]}'\nusage: ActorGateway.Node [--site NAME] [--config FILE]... | hash-password"); return 2; }
}

try
{
    var config = GatewayConfig.Load(files);
    var app = GatewayNode.Build(config, reload: () => GatewayConfig.Load(files));
    await app.RunAsync();
    return 0;
}
catch (BadConfigurationException e)
{
    // One line that names the file, the key and the problem: what an operator (or systemd's journal) needs, no stack trace.
    Console.Error.WriteLine($"ActorGateway: cannot start: {GatewayConfig.Locate(e, files).Message}");
    return 1;
}
catch (Exception e) when (e is InvalidOperationException or FileNotFoundException or DirectoryNotFoundException or FormatException or ArgumentException)
{
    Console.Error.WriteLine($"ActorGateway: cannot start: {e.Message}");
    return 1;
}
