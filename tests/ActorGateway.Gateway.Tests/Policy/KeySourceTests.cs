using ActorGateway.Node.Configuration;
using ActorGateway.Testing;

namespace ActorGateway.Gateway.Tests.Policy;

/// <summary>Which configuration file a configuration error is reported in.</summary>
public sealed class KeySourceTests
{
    [Fact]
    public void The_last_file_that_sets_a_key_or_its_nearest_section_is_named()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("a.conf"), "gateway.smtp.max-message-size = 1\ngateway.dkim.keys { \"a.example\" { selector = s } }\n");
        File.WriteAllText(dir.File("b.conf"), "gateway { smtp { max-message-size = lots } }\n");
        File.WriteAllText(dir.File("c.conf"), "gateway.delivery.port = 25\n");
        string[] files = [dir.File("a.conf"), dir.File("b.conf"), dir.File("c.conf")];

        Assert.Equal(dir.File("b.conf"), KeySource.FileSetting(files, "gateway.smtp.max-message-size"));
        Assert.Equal(dir.File("a.conf"), KeySource.FileSetting(files, "gateway.dkim.keys.\"a.example\".selector"));
        // A key that is missing (a required one): the section that should have had it.
        Assert.Equal(dir.File("a.conf"), KeySource.FileSetting(files, "gateway.dkim.keys.\"a.example\".key"));
        Assert.Equal(dir.File("c.conf"), KeySource.FileSetting(files, "gateway.delivery.routes"));
        Assert.Null(KeySource.FileSetting(files, "akka.cluster.roles"));
    }

    [Fact]
    public void Quoted_names_and_list_indexes_are_read_as_written()
    {
        Assert.Equal(["gateway", "dkim", "keys", "a.example", "key"], KeySource.PathSegments("gateway.dkim.keys.\"a.example\".key"));
        Assert.Equal(["gateway", "smtp", "endpoints"], KeySource.PathSegments("gateway.smtp.endpoints[0].certificate"));
    }
}
