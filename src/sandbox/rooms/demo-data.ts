import type { SandboxTenant } from '../types';

/** The demo room: the tenants and users the stand-in marketplace knows unless told otherwise. */

/** Two demo tenants with fixed client credentials (so a static dev seed can match them). */
export function demoTenants(): SandboxTenant[] {
  return [
    {
      tenantId: 't-acme',
      tenantCode: 'acme',
      name: 'Acme 科技有限公司',
      clientId: 'acme-client',
      clientSecret: 'sandbox-secret-acme-0c1d9f4e',
      users: [
        {
          userName: 'zhangwei',
          name: '张伟',
          email: 'zhangwei@acme.example',
          mobile: '13800000001',
          role: 'admin',
          id: 'u-acme-0001',
          organizationCode: 'acme-rd',
          organizationName: '研发部',
        },
        {
          userName: 'lina',
          name: '李娜',
          email: 'lina@acme.example',
          mobile: '13800000002',
          role: 'user',
          id: 'u-acme-0002',
          organizationCode: 'acme-sales',
          organizationName: '销售部',
        },
        {
          userName: 'bob',
          name: 'Bob Smith',
          email: 'bob@acme.example',
          role: 'user',
          id: 'u-acme-0003',
        },
      ],
    },
    {
      tenantId: 't-globex',
      tenantCode: 'globex',
      name: 'Globex 环球集团',
      clientId: 'globex-client',
      clientSecret: 'sandbox-secret-globex-7a52b8e3',
      users: [
        {
          userName: 'wangfang',
          name: '王芳',
          email: 'wangfang@globex.example',
          mobile: '13900000001',
          role: 'admin',
          id: 'u-globex-0001',
          organizationCode: 'globex-hq',
          organizationName: '总部',
        },
        {
          userName: 'john',
          name: 'John Doe',
          email: 'john@globex.example',
          role: 'user',
          id: 'u-globex-0002',
        },
      ],
    },
  ];
}
