namespace Shortlink.Features.Analytics;

/// <summary>
/// Click analytics: every redirected GET becomes a visit event, handed to a bounded buffer by the redirect and
/// written in batches, with hourly rollups, by <see cref="VisitWriter"/> in the same process. With
/// Visits:Enabled off, nothing is recorded and both background services return at once.
/// </summary>
internal static class Analytics
{
    public static IServiceCollection AddAnalytics(this IServiceCollection services)
    {
        services.AddSingleton(_ => UserAgents.Embedded.Value);
        services.AddSingleton<VisitorHashes>();
        services.AddHostedService(provider => provider.GetRequiredService<VisitorHashes>());
        services.AddSingleton<VisitRecorder>();
        services.AddHostedService<VisitWriter>();
        return services;
    }
}
