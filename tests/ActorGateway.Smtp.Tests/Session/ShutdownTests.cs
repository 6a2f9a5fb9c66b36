using ActorGateway.Smtp.Tests.Support;

namespace ActorGateway.Smtp.Tests.Session;

/// <summary>Graceful shutdown: idle sessions get 421, transactions in flight finish.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task Idle_sessions_get_421_and_a_message_being_stored_still_gets_its_250()
    {
        var server = await TestSmtpServer.StartAsync(shutdownTimeout: TimeSpan.FromSeconds(20));
        await using var _ = server;
        server.Hooks.StoreDelay = TimeSpan.FromSeconds(2);

        await using var idle = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await idle.ReadReplyAsync();
        await idle.CommandAsync("EHLO idle.example");

        await using var busy = await RawSmtpClient.ConnectAsync(server.EndPoint);
        await busy.ReadReplyAsync();
        await busy.CommandAsync("EHLO busy.example");
        await busy.CommandAsync("MAIL FROM:<a@s.example>");
        await busy.CommandAsync("RCPT TO:<b@r.example>");
        await busy.CommandAsync("DATA");
        await busy.SendAsync("Subject: in flight\r\n\r\nbody\r\n.\r\n");
        await Task.Delay(300); // the store is now working on it

        var stopping = server.Host.StopAsync();
        Assert.Equal("421 4.3.2 Service shutting down, closing transmission channel", (await idle.ReadReplyAsync()).ToString());
        Assert.True(await idle.IsClosedByServerAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal(250, (await busy.ReadReplyAsync(TimeSpan.FromSeconds(10))).Code);
        Assert.Equal("421 4.3.2 Service shutting down, closing transmission channel", (await busy.ReadReplyAsync()).ToString());
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Single(server.Hooks.Messages);
    }
}
