namespace ActorGateway.Testing;

/// <summary>The built `actorgw` command line, run as a real process.</summary>
public static class Actorgw
{
    public static string Assembly
    {
        get
        {
            var node = GatewayProcess.NodeAssembly; // src/ActorGateway.Node/bin/<cfg>/<tfm>/ActorGateway.Node.dll
            var dir = Path.GetDirectoryName(node)!;
            var tfm = Path.GetFileName(dir);
            var cfg = Path.GetFileName(Path.GetDirectoryName(dir)!);
            var src = Path.GetFullPath(Path.Combine(dir, "..", "..", "..", ".."));
            var dll = Path.Combine(src, "ActorGateway.Cli", "bin", cfg, tfm, "actorgw.dll");
            if (!File.Exists(dll)) throw new FileNotFoundException($"build the solution first: {dll} is missing");
            return dll;
        }
    }

    public static Task<ExternalProcess> RunAsync(params string[] args) =>
        ExternalProcess.RunAsync("dotnet", [Assembly, .. args], TimeSpan.FromSeconds(60));

    public static ExternalProcess Start(params string[] args) => ExternalProcess.Start("dotnet", [Assembly, .. args]);
}
