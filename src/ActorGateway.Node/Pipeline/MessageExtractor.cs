using Akka.Cluster.Sharding;

namespace ActorGateway.Node.Pipeline;

/// <summary>Message entities are sharded by queue id.</summary>
public sealed class MessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public const string RegionName = "message";

    public override string EntityId(object message) => message switch
    {
        IMessageCommand c => c.QueueId,
        ShardRegion.StartEntity s => s.EntityId,
        _ => null!,
    };
}
