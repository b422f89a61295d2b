// The SCIM discovery documents (RFC 7643 §5, §6, §7) for one directory's base URL, and the
// ListResponse envelope (RFC 7644 §3.4.2). Pure: every call builds fresh objects, so a caller
// may decorate or trim what it gets without affecting the next request.

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User'
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group'
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse'
export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error'
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp'
export const SERVICE_PROVIDER_CONFIG_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'
export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType'
export const SCHEMA_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Schema'

/** Most resources a list (filtered or not) returns in one page; advertised as filter.maxResults. */
export const MAX_RESULTS = 1000

// RFC 7643 §2.3 data types and the §7 characteristic values.
export const ATTRIBUTE_TYPES = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'binary', 'reference', 'complex'] as const
export const MUTABILITIES = ['readOnly', 'readWrite', 'immutable', 'writeOnly'] as const
export const RETURNED = ['always', 'never', 'default', 'request'] as const
export const UNIQUENESSES = ['none', 'server', 'global'] as const

export type AttributeType = typeof ATTRIBUTE_TYPES[number]
export type Mutability = typeof MUTABILITIES[number]
export type Returned = typeof RETURNED[number]
export type Uniqueness = typeof UNIQUENESSES[number]

/** One attribute definition of a Schema resource (RFC 7643 §7). */
export interface AttributeDefinition {
  name: string
  type: AttributeType
  multiValued: boolean
  description: string
  required: boolean
  caseExact: boolean
  mutability: Mutability
  returned: Returned
  uniqueness: Uniqueness
  canonicalValues?: string[]
  referenceTypes?: string[]
  subAttributes?: AttributeDefinition[]
}

export interface ResourceMeta<R extends string> {
  resourceType: R
  location: string
}

export interface AuthenticationScheme {
  type: string
  name: string
  description: string
  specUri?: string
  documentationUri?: string
  primary?: boolean
}

export interface ServiceProviderConfig {
  schemas: string[]
  patch: { supported: boolean }
  bulk: { supported: boolean, maxOperations: number, maxPayloadSize: number }
  filter: { supported: boolean, maxResults: number }
  changePassword: { supported: boolean }
  sort: { supported: boolean }
  etag: { supported: boolean }
  authenticationSchemes: AuthenticationScheme[]
  meta: ResourceMeta<'ServiceProviderConfig'>
}

export interface SchemaExtension {
  schema: string
  required: boolean
}

export interface ResourceType {
  schemas: string[]
  id: string
  name: string
  endpoint: string
  description: string
  schema: string
  schemaExtensions?: SchemaExtension[]
  meta: ResourceMeta<'ResourceType'>
}

export interface SchemaResource {
  schemas: string[]
  id: string
  name: string
  description: string
  attributes: AttributeDefinition[]
  meta: ResourceMeta<'Schema'>
}

export interface ListResponse<T> {
  schemas: string[]
  totalResults: number
  startIndex: number
  itemsPerPage: number
  Resources: T[]
}

// A trailing slash in the configured base URL would otherwise give "//" in every location.
function trimBase (baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '')
}

export function serviceProviderConfig (baseUrl: string): ServiceProviderConfig {
  return {
    schemas: [SERVICE_PROVIDER_CONFIG_SCHEMA],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [{
      type: 'oauthbearertoken',
      name: 'OAuth Bearer Token',
      description: 'Authentication scheme using the OAuth Bearer Token Standard',
      specUri: 'http://www.rfc-editor.org/info/rfc6750',
      primary: true
    }],
    meta: { resourceType: 'ServiceProviderConfig', location: `${trimBase(baseUrl)}/ServiceProviderConfig` }
  }
}

export function resourceTypes (baseUrl: string): ResourceType[] {
  const base = trimBase(baseUrl)
  return [
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'User',
      name: 'User',
      endpoint: '/Users',
      description: 'User Account',
      schema: USER_SCHEMA,
      // Not required: Okta and most IdPs send plain core Users.
      schemaExtensions: [{ schema: ENTERPRISE_USER_SCHEMA, required: false }],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/User` }
    },
    {
      schemas: [RESOURCE_TYPE_SCHEMA],
      id: 'Group',
      name: 'Group',
      endpoint: '/Groups',
      description: 'Group',
      schema: GROUP_SCHEMA,
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/Group` }
    }
  ]
}

/**
 * The ResourceType whose id is `name`. Matched exactly: a resource's "id" is caseExact
 * (RFC 7643 §3.1), so "/ResourceTypes/user" is a 404 like any other unknown id.
 */
export function resourceType (baseUrl: string, name: string): ResourceType | undefined {
  return resourceTypes(baseUrl).find(r => r.id === name)
}

// ---- Attribute definitions, RFC 7643 §8.7.1 ----
// Characteristics the RFC's representation leaves out take their §2.2 defaults, so that every
// definition carries all of them. Descriptions are the RFC's, whitespace normalised.

type AttributeOptions = Partial<Omit<AttributeDefinition, 'name' | 'description'>>

function attr (name: string, description: string, options: AttributeOptions = {}): AttributeDefinition {
  return {
    name,
    type: 'string',
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...options
  }
}

function complex (name: string, description: string, subAttributes: AttributeDefinition[], options: AttributeOptions = {}): AttributeDefinition {
  return attr(name, description, { type: 'complex', subAttributes, ...options })
}

const DISPLAY = 'A human-readable name, primarily used for display purposes. READ-ONLY.'

function primary (description: string): AttributeDefinition {
  return attr('primary', description, { type: 'boolean' })
}

// The value/display/type/primary shape RFC 7643 §2.4 gives multi-valued attributes.
function multiValuedSubs (
  value: AttributeDefinition,
  typeDescription: string,
  canonicalValues: string[] | undefined,
  primaryDescription: string
): AttributeDefinition[] {
  const type = attr('type', typeDescription, canonicalValues === undefined ? {} : { canonicalValues })
  return [value, attr('display', DISPLAY), type, primary(primaryDescription)]
}

const EMAIL_DESCRIPTION = "Email addresses for the user. The value SHOULD be canonicalized by the service provider, e.g., 'bjensen@example.com' instead of 'bjensen@EXAMPLE.COM'. Canonical type values of 'work', 'home', and 'other'."
const PRIMARY_ONCE = "A Boolean value indicating the 'primary' or preferred attribute value for this attribute. The primary attribute value 'true' MUST appear no more than once."
const FULL_NAME = "given the full name 'Ms. Barbara J Jensen, III'"

const USER_ATTRIBUTES: AttributeDefinition[] = [
  attr('userName', "Unique identifier for the User, typically used by the user to directly authenticate to the service provider. Each User MUST include a non-empty userName value. This identifier MUST be unique across the service provider's entire set of Users. REQUIRED.", { required: true, uniqueness: 'server' }),
  complex('name', "The components of the user's real name. Providers MAY return just the full name as a single string in the formatted sub-attribute, or they MAY return just the individual component attributes using the other sub-attributes, or they MAY return both. If both variants are returned, they SHOULD be describing the same name, with the formatted name indicating how the component attributes should be combined.", [
    attr('formatted', "The full name, including all middle names, titles, and suffixes as appropriate, formatted for display (e.g., 'Ms. Barbara J Jensen, III')."),
    attr('familyName', `The family name of the User, or last name in most Western languages (e.g., 'Jensen' ${FULL_NAME}).`),
    attr('givenName', `The given name of the User, or first name in most Western languages (e.g., 'Barbara' ${FULL_NAME}).`),
    attr('middleName', `The middle name(s) of the User (e.g., 'Jane' ${FULL_NAME}).`),
    attr('honorificPrefix', `The honorific prefix(es) of the User, or title in most Western languages (e.g., 'Ms.' ${FULL_NAME}).`),
    attr('honorificSuffix', `The honorific suffix(es) of the User, or suffix in most Western languages (e.g., 'III' ${FULL_NAME}).`)
  ]),
  attr('displayName', 'The name of the User, suitable for display to end-users. The name SHOULD be the full name of the User being described, if known.'),
  attr('nickName', "The casual way to address the user in real life, e.g., 'Bob' or 'Bobby' instead of 'Robert'. This attribute SHOULD NOT be used to represent a User's username (e.g., 'bjensen' or 'mpepperidge')."),
  attr('profileUrl', "A fully qualified URL pointing to a page representing the User's online profile.", { type: 'reference', referenceTypes: ['external'] }),
  attr('title', 'The user\'s title, such as "Vice President."'),
  attr('userType', "Used to identify the relationship between the organization and the user. Typical values used might be 'Contractor', 'Employee', 'Intern', 'Temp', 'External', and 'Unknown', but any value may be used."),
  attr('preferredLanguage', "Indicates the User's preferred written or spoken language. Generally used for selecting a localized user interface; e.g., 'en_US' specifies the language English and country US."),
  attr('locale', "Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
  attr('timezone', "The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
  attr('active', "A Boolean value indicating the User's administrative status.", { type: 'boolean' }),
  attr('password', "The User's cleartext password. This attribute is intended to be used as a means to specify an initial password when creating a new User or to reset an existing User's password.", { mutability: 'writeOnly', returned: 'never' }),
  complex('emails', EMAIL_DESCRIPTION, multiValuedSubs(
    attr('value', EMAIL_DESCRIPTION),
    "A label indicating the attribute's function, e.g., 'work' or 'home'.",
    ['work', 'home', 'other'],
    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred mailing address or primary email address. The primary attribute value 'true' MUST appear no more than once."
  ), { multiValued: true }),
  complex('phoneNumbers', "Phone numbers for the User. The value SHOULD be canonicalized by the service provider according to the format specified in RFC 3966, e.g., 'tel:+1-201-555-0123'. Canonical type values of 'work', 'home', 'mobile', 'fax', 'pager', and 'other'.", multiValuedSubs(
    attr('value', 'Phone number of the User.'),
    "A label indicating the attribute's function, e.g., 'work', 'home', 'mobile'.",
    ['work', 'home', 'mobile', 'fax', 'pager', 'other'],
    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred phone number or primary phone number. The primary attribute value 'true' MUST appear no more than once."
  ), { multiValued: true }),
  complex('ims', 'Instant messaging addresses for the User.', multiValuedSubs(
    attr('value', 'Instant messaging address for the User.'),
    "A label indicating the attribute's function, e.g., 'aim', 'gtalk', 'xmpp'.",
    ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo'],
    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred messenger or primary messenger. The primary attribute value 'true' MUST appear no more than once."
  ), { multiValued: true }),
  complex('photos', 'URLs of photos of the User.', multiValuedSubs(
    attr('value', 'URL of a photo of the User.', { type: 'reference', referenceTypes: ['external'] }),
    "A label indicating the attribute's function, i.e., 'photo' or 'thumbnail'.",
    ['photo', 'thumbnail'],
    "A Boolean value indicating the 'primary' or preferred attribute value for this attribute, e.g., the preferred photo or thumbnail. The primary attribute value 'true' MUST appear no more than once."
  ), { multiValued: true }),
  complex('addresses', "A physical mailing address for this User. Canonical type values of 'work', 'home', and 'other'. This attribute is a complex type with the following sub-attributes.", [
    attr('formatted', 'The full mailing address, formatted for display or use with a mailing label. This attribute MAY contain newlines.'),
    attr('streetAddress', 'The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information. This attribute MAY contain newlines.'),
    attr('locality', 'The city or locality component.'),
    attr('region', 'The state or region component.'),
    attr('postalCode', 'The zip code or postal code component.'),
    attr('country', 'The country name component.'),
    attr('type', "A label indicating the attribute's function, e.g., 'work' or 'home'.", { canonicalValues: ['work', 'home', 'other'] })
  ], { multiValued: true }),
  // Read-only: membership is written through the Group resource (RFC 7643 §4.1.2).
  complex('groups', 'A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.', [
    attr('value', "The identifier of the User's group.", { mutability: 'readOnly' }),
    attr('$ref', "The URI of the corresponding 'Group' resource to which the user belongs.", { type: 'reference', referenceTypes: ['User', 'Group'], mutability: 'readOnly' }),
    attr('display', DISPLAY, { mutability: 'readOnly' }),
    attr('type', "A label indicating the attribute's function, e.g., 'direct' or 'indirect'.", { canonicalValues: ['direct', 'indirect'], mutability: 'readOnly' })
  ], { multiValued: true, mutability: 'readOnly' }),
  complex('entitlements', 'A list of entitlements for the User that represent a thing the User has.', multiValuedSubs(
    attr('value', 'The value of an entitlement.'),
    "A label indicating the attribute's function.",
    undefined,
    PRIMARY_ONCE
  ), { multiValued: true }),
  complex('roles', "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.", multiValuedSubs(
    attr('value', 'The value of a role.'),
    "A label indicating the attribute's function.",
    [],
    PRIMARY_ONCE
  ), { multiValued: true }),
  // value keeps the RFC's caseExact false (errata 6000 reports it should be true for binary).
  complex('x509Certificates', 'A list of certificates issued to the User.', multiValuedSubs(
    attr('value', 'The value of an X.509 certificate.', { type: 'binary' }),
    "A label indicating the attribute's function.",
    [],
    PRIMARY_ONCE
  ), { multiValued: true })
]

const GROUP_ATTRIBUTES: AttributeDefinition[] = [
  // §8.7.1 marks it required false, but §4.2 says REQUIRED and this server rejects a Group without it.
  attr('displayName', 'A human-readable name for the Group. REQUIRED.', { required: true }),
  complex('members', 'A list of members of the Group.', [
    attr('value', 'Identifier of the member of this Group.', { mutability: 'immutable' }),
    attr('$ref', 'The URI corresponding to a SCIM resource that is a member of this Group.', { type: 'reference', referenceTypes: ['User', 'Group'], mutability: 'immutable' }),
    attr('type', "A label indicating the type of resource, e.g., 'User' or 'Group'.", { canonicalValues: ['User', 'Group'], mutability: 'immutable' })
  ], { multiValued: true })
]

const ENTERPRISE_USER_ATTRIBUTES: AttributeDefinition[] = [
  attr('employeeNumber', 'Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization.'),
  attr('costCenter', 'Identifies the name of a cost center.'),
  attr('organization', 'Identifies the name of an organization.'),
  attr('division', 'Identifies the name of a division.'),
  attr('department', 'Identifies the name of a department.'),
  complex('manager', "The User's manager. A complex type that optionally allows service providers to represent organizational hierarchy by referencing the 'id' attribute of another User.", [
    attr('value', "The id of the SCIM resource representing the User's manager. REQUIRED."),
    attr('$ref', "The URI of the SCIM resource representing the User's manager. REQUIRED.", { type: 'reference', referenceTypes: ['User'] }),
    attr('displayName', "The displayName of the User's manager. OPTIONAL and READ-ONLY.", { mutability: 'readOnly' })
  ])
]

const SCHEMA_DEFINITIONS: ReadonlyArray<Pick<SchemaResource, 'id' | 'name' | 'description' | 'attributes'>> = [
  { id: USER_SCHEMA, name: 'User', description: 'User Account', attributes: USER_ATTRIBUTES },
  { id: GROUP_SCHEMA, name: 'Group', description: 'Group', attributes: GROUP_ATTRIBUTES },
  { id: ENTERPRISE_USER_SCHEMA, name: 'EnterpriseUser', description: 'Enterprise User', attributes: ENTERPRISE_USER_ATTRIBUTES }
]

export function schemas (baseUrl: string): SchemaResource[] {
  const base = trimBase(baseUrl)
  return SCHEMA_DEFINITIONS.map(s => ({
    schemas: [SCHEMA_SCHEMA],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: structuredClone(s.attributes),
    meta: { resourceType: 'Schema' as const, location: `${base}/Schemas/${s.id}` }
  }))
}

/** The Schema whose id is `urn`, matched exactly like any resource id (RFC 7643 §3.1). */
export function schema (baseUrl: string, urn: string): SchemaResource | undefined {
  return schemas(baseUrl).find(s => s.id === urn)
}

/** RFC 7644 §3.4.2 ListResponse; itemsPerPage is the size of this page, not the requested count. */
export function listResponse<T> (resources: T[], totalResults = resources.length, startIndex = 1): ListResponse<T> {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources
  }
}
