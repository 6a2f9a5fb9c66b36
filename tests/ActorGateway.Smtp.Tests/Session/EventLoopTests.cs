using ActorGateway.Smtp.Hosting;
using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>In the stand-alone host's event-loop mode the sessions run on the sockets' event-loop thread.</summary>
public sealed class EventLoopTests
{
    [Fact]
    public async Task Session_code_runs_on_the_socket_event_loop()
    {
        Assert.True(SocketEventLoop.InlineCompletions, "the test process must run with inline socket completions (event-loop.runsettings)");
        await using var server = await TestSmtpServer.StartAsync();
        await using var client = await server.OpenSessionAsync();
        await client.SendAsync("MAIL FROM:<a@s.example>\r\nRCPT TO:<b@r.example>\r\nDATA\r\n");
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.ReadReplyAsync()).Code);
        Assert.Equal(354, (await client.ReadReplyAsync()).Code);
        Assert.Equal(250, (await client.CommandAsync("Subject: x\r\n\r\nbody\r\n.")).Code);
        var stored = Assert.Single(server.Hooks.Messages);
        // No hop to the thread pool between the socket's event and the store hook.
        Assert.Equal(".NET Sockets", stored.StoredOnThread);
    }
}
