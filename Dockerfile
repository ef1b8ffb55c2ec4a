# Shortlink service image.
#   docker build -t shortlink --build-arg VERSION=1.2.3 --build-arg SOURCE_URL=https://… .
# Works with the classic builder and BuildKit alike (no BuildKit-only syntax, no remote frontend).

# ---- build: restore in its own cached layer (only re-run when the project/package files change)
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    DOTNET_NOLOGO=1
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props Service.csproj ./
RUN dotnet restore Service.csproj
COPY . .
RUN dotnet publish Service.csproj -c Release -o /app --no-restore -p:UseAppHost=false

# ---- runtime
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
ARG VERSION=dev
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="Shortlink" \
      org.opencontainers.image.description="Shortlink URL shortener service" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.version="${VERSION}"
WORKDIR /app
COPY --from=build /app ./
# ASPNETCORE_URLS decides; the base image's ASPNETCORE_HTTP_PORTS is cleared so Kestrel does not warn
# that URLS overrides it.
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_HTTP_PORTS= \
    DOTNET_CLI_TELEMETRY_OPTOUT=1
EXPOSE 8080
# The image has neither curl nor wget: the service probes its own /health/ready (database reachable,
# every migration applied). Orchestrators can probe GET /health/live and GET /health/ready directly.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["dotnet", "Shortlink.dll", "health"]
USER $APP_UID
ENTRYPOINT ["dotnet", "Shortlink.dll"]
