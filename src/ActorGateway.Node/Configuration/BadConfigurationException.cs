namespace ActorGateway.Node.Configuration;

/// <summary>
/// A configuration the node cannot start with: the file that says it (when known), the full
/// HOCON path of the key, and what is wrong with it. The message is the one line the operator sees.
/// </summary>
public sealed class BadConfigurationException(string? file, string key, string problem, Exception? inner = null)
    : Exception(file is null ? $"{key}: {problem}" : $"{file}: {key}: {problem}", inner)
{
    public string? File { get; } = file;
    public string Key { get; } = key;
    public string Problem { get; } = problem;

    public BadConfigurationException InFile(string file) => new(file, Key, Problem, InnerException);
}
