using Microsoft.Extensions.Options;
using Shortlink.Features.Analytics.Queue;
using Shortlink.Infrastructure;

namespace Shortlink.Features.Analytics;

/// <summary>
/// Click analytics: every redirected GET becomes a visit event, handed to a bounded buffer by the redirect. With
/// RabbitMQ:ConnectionString set, <see cref="VisitPublisher"/> sends the buffer to RabbitMQ and the workers'
/// <see cref="VisitConsumer"/> writes it; without, <see cref="VisitWriter"/> writes it in the same process. Both
/// write through <see cref="VisitBatchWriter"/>. Each background service returns at once where its role and the
/// configuration give it nothing to do.
/// </summary>
internal static class Analytics
{
    public static IServiceCollection AddAnalytics(this IServiceCollection services)
    {
        services.AddSingleton(_ => UserAgents.Embedded.Value);
        services.AddSingleton<VisitorHashes>();
        services.AddSingleton<VisitorCountries>();
        services.AddSingleton<IValidateOptions<ShortlinkOptions>, CountryDatabaseSetting>();
        services.AddHostedService(provider => provider.GetRequiredService<VisitorHashes>());
        services.AddSingleton<VisitRecorder>();
        services.AddSingleton<VisitBatchWriter>();
        services.AddSingleton<VisitQueue>();
        services.AddHealthChecks().AddCheck<VisitQueueHealthCheck>("rabbitmq", tags: ["ready"]);
        // Stopped in reverse order: the publisher drains the buffer to RabbitMQ while the consumer still writes.
        services.AddHostedService<VisitConsumer>();
        services.AddHostedService<VisitWriter>();
        services.AddHostedService<VisitPublisher>();
        services.AddHostedService<VisitRetention>();
        return services;
    }
}
