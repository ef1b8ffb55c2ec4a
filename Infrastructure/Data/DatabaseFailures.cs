using System.Net.Sockets;
using MySqlConnector;

namespace Shortlink.Infrastructure.Data;

/// <summary>
/// Failures that mean "the database is down, saturated, contended or refuses us: try again", as opposed
/// to a bug. They are answered 503 with Retry-After, never 500, and logged once per outage.
/// </summary>
internal static class DatabaseFailures
{
    public static bool IsUnavailable(Exception exception)
    {
        for (Exception? current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                // Refused connections, an exhausted pool ("All pooled connections are in use") and
                // connect timeouts all arrive as UnableToConnectToHost.
                case MySqlException { ErrorCode: MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.ConnectionCountError
                    or MySqlErrorCode.TooManyUserConnections or MySqlErrorCode.ServerShutdown or MySqlErrorCode.CommandTimeoutExpired
                    or MySqlErrorCode.LockWaitTimeout or MySqlErrorCode.LockDeadlock or MySqlErrorCode.QueryInterrupted
                    // A wrong password or database name: nothing a client did, and nothing a retry of the code fixes.
                    or MySqlErrorCode.AccessDenied or MySqlErrorCode.DatabaseAccessDenied or MySqlErrorCode.UnknownDatabase
                    or MySqlErrorCode.HostIsBlocked or MySqlErrorCode.HostNotPrivileged }:
                // A connection lost in the middle of a command.
                case MySqlEndOfStreamException:
                // Which shard holds a link is not known until the control database answers.
                case BucketMapUnavailableException:
                case SocketException:
                    return true;
            }
        }
        return false;
    }
}
