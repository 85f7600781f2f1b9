// edgelock on Azure: a storage account with the lock container, and the
// edgelock HTTP lock service as a Node Function App on the Flex Consumption
// plan. See README.md. Names the code relies on (container, app settings) are
// checked against the code by test/infra/azure.test.ts.

targetScope = 'resourceGroup'

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Prefix of resource names; a suffix derived from the resource group keeps global names unique.')
@minLength(3)
@maxLength(11)
param namePrefix string = 'edgelock'

@description('Blob container that holds one blob per lock key.')
param lockContainerName string = 'edgelock-locks'

@description('API tokens of the lock service (EDGELOCK_API_TOKENS syntax: comma-separated). Kept in an app setting (encrypted at rest); see README for a Key Vault reference instead.')
@secure()
param apiTokens string

@description('Longest server-side wait of one acquire request, ms.')
@minValue(0)
@maxValue(30000)
param maxWaitMs int = 30000

@description('Most instances the Function App may scale out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

var suffix = uniqueString(resourceGroup().id, namePrefix)
var lockStorageName = take(toLower('${namePrefix}lk${suffix}'), 24)
var hostStorageName = take(toLower('${namePrefix}fn${suffix}'), 24)
var deploymentContainerName = 'app-package'
var functionAppName = '${namePrefix}-locks-${suffix}'

// Built-in role definition ids.
var storageBlobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var storageBlobDataOwner = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'

// The lock account holds only locks, so the service's key to it reaches
// nothing else.
resource lockStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: lockStorageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    allowCrossTenantReplication: false
    accessTier: 'Hot'
  }
}

resource lockBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: lockStorage
  name: 'default'
}

resource lockContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: lockBlobService
  name: lockContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The Functions host's own storage (deployment package, host keys), reached
// with the app's managed identity only.
resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: hostStorageName
  location: location
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    minimumTlsVersion: 'TLS1_2'
    allowBlobPublicAccess: false
    supportsHttpsTrafficOnly: true
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
  }
}

resource hostBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: hostStorage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: hostBlobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${namePrefix}-plan-${suffix}'
  location: location
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        {
          name: 'AzureWebJobsStorage__accountName'
          value: hostStorage.name
        }
        {
          name: 'EDGELOCK_API_TOKENS'
          value: apiTokens
        }
        {
          name: 'EDGELOCK_AZURE_CONNECTION_STRING'
          value: 'DefaultEndpointsProtocol=https;AccountName=${lockStorage.name};AccountKey=${lockStorage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
        }
        {
          name: 'EDGELOCK_AZURE_CONTAINER'
          value: lockContainer.name
        }
        {
          name: 'EDGELOCK_MAX_WAIT_MS'
          value: string(maxWaitMs)
        }
        {
          // host.json serves routes at the root (routePrefix ""); the entry defaults to "/api".
          name: 'EDGELOCK_BASE_PATH'
          value: ''
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// The host reads and writes its own storage with the app's identity.
resource hostStorageRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, functionApp.id, storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Data access to the lock container alone, for clients that authenticate
// with the app's identity (bearer token) instead of the account key.
resource lockContainerRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(lockContainer.id, functionApp.id, storageBlobDataContributor)
  scope: lockContainer
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', storageBlobDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

@description('Base URL of the lock service (pass it to httpAdapter as url; routes are under /api unless host.json says otherwise).')
output serviceUrl string = 'https://${functionApp.properties.defaultHostName}'

@description('Name of the Function App, for publishing the code.')
output functionAppName string = functionApp.name

@description('Storage account holding the lock container.')
output lockStorageAccountName string = lockStorage.name

@description('Blob endpoint of the lock account, for edgelock/azure-blob in your own code.')
output lockBlobEndpoint string = lockStorage.properties.primaryEndpoints.blob

@description('Lock container name.')
output lockContainerName string = lockContainer.name
